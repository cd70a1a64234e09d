import { admitCallLimits } from '../policy/index.ts';
import type { Limiter } from '../store/index.ts';
import type { CallContext } from './call-context.ts';

/** A meta-tool's concurrency slot: it runs in process, within the query budget; this bounds a lost release. */
const metaToolLeaseMs = 35_000;

/**
 * Step "limits" of `callTool`, policy step 4 of DESIGN.md §7: every call a key makes, meta-tools included (review
 * finding 4), is counted against the rate and concurrency limits its toolset carries, or refused with
 * `rate_limited` and a retry time. The slot is released once the call has ended (`call.release`).
 */
export async function admitLimits(limiter: Limiter, call: CallContext): Promise<void> {
  if (call.toolset === undefined) throw new Error('callTool: limits before resolve');
  const leaseMs = call.service?.leaseMs ?? metaToolLeaseMs;
  call.release = await admitCallLimits(limiter, call.toolset.limits, call.caller, call.name, leaseMs);
}
