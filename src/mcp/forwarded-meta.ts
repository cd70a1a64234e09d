import { withoutGatewayMeta } from '../shaping/index.ts';

/**
 * The client's request `_meta` as a federated server receives it: every key but those the gateway owns (the
 * protocol's reserved `io.modelcontextprotocol/` namespace, whose envelope the gateway's own MCP client writes, and
 * `gatehouse...`) and `progressToken` (the gateway asks the server for progress with a token of its own and relays
 * it). Undefined when nothing is left.
 */
export function forwardedMetaOf(meta: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  const { progressToken: _progressToken, ...rest } = meta as Record<string, unknown>;
  return withoutGatewayMeta(rest);
}

/** `forwardedMetaOf` as the `meta` option of a call's relay: absent when nothing is forwarded. */
export function forwardedMetaOption(meta: unknown): { readonly meta?: Readonly<Record<string, unknown>> } {
  const forwarded = forwardedMetaOf(meta);
  return forwarded === undefined ? {} : { meta: forwarded };
}
