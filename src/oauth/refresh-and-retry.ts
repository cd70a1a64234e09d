import { GatehouseError } from '../core/index.ts';
import type { FreshToken, RefreshEngine } from './refresh-engine.ts';

/**
 * Sends one upstream call with a connection's access token, the OA-16 way: on a 401 exactly one forced refresh
 * (skipped when a sibling already replaced the refused token) and one retry; a second 401 throws
 * `upstream_unauthorized` instead of looping. Any other status is returned as is.
 */
export async function refreshAndRetry<T extends { readonly status: number }>(
  engine: Pick<RefreshEngine, 'ensureFresh'>,
  tenantId: string,
  connectionId: string,
  send: (token: FreshToken) => Promise<T>,
): Promise<T> {
  const first = await engine.ensureFresh(tenantId, connectionId);
  const answer = await send(first);
  if (answer.status !== 401) return answer;
  const second = await engine.ensureFresh(tenantId, connectionId, {
    force: true,
    rejectedVersion: first.tokenVersion,
  });
  const retried = await send(second);
  if (retried.status !== 401) return retried;
  throw new GatehouseError(
    'upstream_unauthorized',
    `The upstream refused the refreshed token of connection ${connectionId} to ${second.service}`,
    { connection: connectionId, service: second.service, status: 401 },
  );
}
