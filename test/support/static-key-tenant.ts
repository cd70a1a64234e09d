import { fileURLToPath } from 'node:url';
import type { FakeApi } from './start-fake-api.ts';

/**
 * One tenant `acme` whose toolset `reader` offers the fake API's `getItem`, with an upstream API key kept by the
 * vault and a configured client key: the smallest gateway an operations test (backup, upgrade) calls through.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
export const tenantClientKey = 'ops-test-client-key-0123456789abcdef';
const upstreamKey = 'upstream-api-key-0123456789';

/** Answers 200 with the item id when the request carries the upstream key, 401 otherwise. */
export function requireUpstreamKey(api: FakeApi): void {
  api.handle((request, res) => {
    const ok = request.headers['x-api-key'] === upstreamKey;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { id: request.path.split('/').pop() } : { error: 'no key' }));
  });
}

/** Config settings of the tenant over `api`, on `store` (and `migrationStore`) with `masterKey`. */
export function staticKeyTenant(api: FakeApi, store: { store: string; migrationStore?: string }, masterKey: string) {
  return {
    ...store,
    masterKey,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: api.url,
            auth: { type: 'apiKey', in: 'header', name: 'X-API-Key', value: upstreamKey },
          },
        ],
        toolsets: [{ id: 'reader', tools: ['fake_getItem'] }],
        clientKeys: [{ name: 'agent', key: tenantClientKey, toolsets: ['reader'] }],
      },
    ],
  };
}

/**
 * `tools/call fake_getItem {itemId}` at toolset `reader` of tenant `acme` through the gateway at `url`, with this
 * tenant's client key or `clientKey`: the HTTP status and the body.
 */
export async function callGetItem(
  url: string,
  itemId: string,
  clientKey = tenantClientKey,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/mcp/acme/reader`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${clientKey}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'fake_getItem', arguments: { itemId } },
    }),
  });
  return { status: response.status, text: await response.text() };
}
