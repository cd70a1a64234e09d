import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postMcp } from '../support/post-mcp.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding (issue 12 follow-up): the toolset's rate and concurrency limits applied to `tools/call` only; a client could
 * read federated resources and get prompts without limit. They are counted like tool calls now: a toolset's rate
 * limit covers reads, gets and calls together, and a read in flight holds a concurrency slot.
 */
const clientKey = 'gatehouse_sk_federation_limits_agent_012345';
const token = 'upstream-mcp-bearer-for-limits-0123456789';

describe('rate and concurrency limits of federated resources/read and prompts/get', () => {
  let upstream: LegacyMcpUpstream;
  let gateway: TestGateway;
  /** Releases the slow read in flight. */
  let release: () => void = () => {};

  beforeAll(async () => {
    upstream = await startLegacyMcpUpstream([], token, 2, {
      resources: [
        {
          uri: 'docs://fast',
          name: 'fast',
          read: (uri) => (uri === 'docs://fast' ? [{ uri, text: 'fast' }] : undefined),
        },
        {
          uri: 'docs://slow',
          name: 'slow',
          read: async (uri) => {
            if (uri !== 'docs://slow') return undefined;
            await new Promise<void>((resolve) => {
              release = resolve;
            });
            return [{ uri, text: 'slow' }];
          },
        },
      ],
      prompts: [{ name: 'hello', get: () => [{ role: 'user', content: { type: 'text', text: 'hello' } }] }],
    });
    gateway = await startTestGateway({
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'docs', mcp: upstream.url, auth: { type: 'bearer', token } }],
          toolsets: [
            { id: 'counted', tools: ['*'], access: 'read', rateLimit: { perMinute: 2 } },
            { id: 'single', tools: ['*'], access: 'read', limits: { concurrency: { perKey: 1 } } },
          ],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['counted', 'single'], subject: 'alice' }],
        },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    release();
    await gateway?.close();
    await upstream?.close();
  });

  const rpc = (toolset: string, method: string, params: Record<string, unknown>) =>
    postMcp(`${gateway.url}/mcp/acme/${toolset}`, clientKey, method, params);

  it('a toolset rate limit counts resources/read and prompts/get: the third within the minute is rate_limited', async () => {
    expect((await rpc('counted', 'resources/read', { uri: 'docs://fast' })).result).toBeDefined();
    expect((await rpc('counted', 'prompts/get', { name: 'docs_hello' })).result).toBeDefined();
    const read = await rpc('counted', 'resources/read', { uri: 'docs://fast' });
    expect(read.error?.data?.code).toBe('rate_limited');
    expect(read.error?.message).toContain("Rate limit 'toolset'");
    expect(read.error?.data?.details?.['retryAfterSeconds']).toBeGreaterThanOrEqual(1);
    const prompt = await rpc('counted', 'prompts/get', { name: 'docs_hello' });
    expect(prompt.error?.data?.code).toBe('rate_limited');
  });

  it('a read in flight holds the key concurrency slot; released when it ends', async () => {
    const slow = rpc('single', 'resources/read', { uri: 'docs://slow' });
    // Wait until the server has the slow read (its slot is taken by then).
    for (let i = 0; i < 100 && upstream.reads.every((r) => r.target !== 'docs://slow'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = await rpc('single', 'prompts/get', { name: 'docs_hello' });
    expect(refused.error?.data?.code).toBe('rate_limited');
    expect(refused.error?.message).toContain('concurrency.perKey');
    release();
    expect((await slow).result).toBeDefined();
    expect((await rpc('single', 'prompts/get', { name: 'docs_hello' })).result).toBeDefined();
  });
});
