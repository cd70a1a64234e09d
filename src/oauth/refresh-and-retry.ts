import { GatehouseError } from '../core/index.ts';
import type { FreshToken, RefreshEngine } from './refresh-engine.ts';

/**
 * Sends one upstream call with a connection's access token, the OA-16 way: on a 401 exactly one forced refresh
 * and one retry; a second 401 throws `upstream_unauthorized` instead of looping. Any other status is returned as
 * is. The forced refresh names the version of the token the upstream refused (`rejectedVersion`), never the
 * version stored now: when a sibling (another caller, another process) has refreshed meanwhile, its newer token is
 * used and nothing is redeemed again (RF-04). `first`: the token the caller already holds for this call (read
 * with the credential); absent, it is asked of the engine.
 */
export async function refreshAndRetry<T extends { readonly status: number }>(
  engine: Pick<RefreshEngine, 'ensureFresh'>,
  tenantId: string,
  connectionId: string,
  send: (token: FreshToken) => Promise<T>,
  first?: FreshToken,
): Promise<T> {
  const sent = first ?? (await engine.ensureFresh(tenantId, connectionId));
  const answer = await send(sent);
  if (answer.status !== 401) return answer;
  const second = await engine.ensureFresh(tenantId, connectionId, {
    force: true,
    rejectedVersion: sent.tokenVersion,
  });
  const retried = await send(second);
  if (retried.status !== 401) return retried;
  throw new GatehouseError(
    'upstream_unauthorized',
    `The upstream ${second.service} refused the refreshed token; the connection may need to be authorised again`,
    { connection: connectionId, service: second.service, status: 401 },
  );
}
