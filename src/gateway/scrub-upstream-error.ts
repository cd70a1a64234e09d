import { scrubJson } from '../audit/index.ts';
import { GatehouseError, isGatehouseError } from '../core/index.ts';

/**
 * A federated server's failure as the client may see it: its message and details (which carry an excerpt of the
 * server's own error text) with every secret `scrub` knows removed, as its results are. Anything else as it is.
 */
export function scrubUpstreamError(error: unknown, scrub: (text: string) => string): unknown {
  if (!isGatehouseError(error)) return error;
  const message = scrub(error.message);
  const details = scrubJson(error.details, scrub);
  if (message === error.message && details === error.details) return error;
  return new GatehouseError(error.code, message, details);
}
