import { type GatehouseError, isGatehouseError } from '../../src/core/index.ts';

/** A federated server at `url` as `createMcpUpstream()` tests call it: a bearer credential, 5 s, 1 MB. */
export const mcpTarget = (url: string) => ({
  tenant: 't',
  service: 'remote',
  url,
  credential: { type: 'bearer' as const, token: 'secret-token-0123456789' },
  timeoutMs: 5_000,
  connectTimeoutMs: 2_000,
  maxResponseBytes: 1_000_000,
});

/** The GatehouseError `promise` rejects with; anything else (a result, another error) fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isGatehouseError(error)) throw new Error(`expected a GatehouseError, got ${String(error)}`);
  return error;
}
