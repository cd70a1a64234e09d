import { afterAll, describe, expect, it } from 'vitest';
import { postMcp } from '../support/post-mcp.ts';
import { startScriptedMcpServer } from '../support/start-scripted-mcp-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * A service's `headers` are "fixed request headers of every call" (docs/configuration.md, Services): an `mcp:`
 * service accepted them and sent none, so a server that needs one (an organisation id, an API version) refused the
 * gateway with nothing in the config saying why.
 */
const key = 'gatehouse_sk_federation_headers_0123456789';
let gateway: TestGateway | undefined;
let remote: Awaited<ReturnType<typeof startScriptedMcpServer>> | undefined;
afterAll(async () => {
  await gateway?.close();
  await remote?.close();
});

describe('headers of an mcp: service', () => {
  it('mcp_service_headers_ignored: the fixed headers reach the server on the listing and on a tools/call', async () => {
    remote = await startScriptedMcpServer((response, _id, body) => {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: body['id'], result: { content: [{ type: 'text', text: 'ok' }] } }));
    });
    gateway = await startTestGateway({
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'remote', mcp: remote.url, headers: { 'X-Org-Id': 'org-42' } }],
          toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none' }],
          clientKeys: [{ name: 'agent', key, toolsets: ['all'] }],
        },
      ],
    });
    const answer = await postMcp(`${gateway.url}/mcp/acme/all`, key, 'tools/call', {
      name: 'remote_scripted',
      arguments: {},
    });
    expect(answer.result?.content?.[0]?.text).toBe('ok');
    const listing = remote.received.find((request) => request.method === 'tools/list');
    const call = remote.received.find((request) => request.method === 'tools/call');
    expect(listing?.headers['x-org-id']).toBe('org-42');
    expect(call?.headers['x-org-id']).toBe('org-42');
  });
});
