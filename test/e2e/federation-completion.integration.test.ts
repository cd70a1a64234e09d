import { ProtocolError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClientV1, connectClientV2 } from '../support/connect-mcp-clients.ts';
import {
  type FixtureCompletionRequest,
  type FixtureFeatures,
  type LegacyMcpUpstream,
  startLegacyMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * `completion/complete` of federated prompts and resource templates (issue 12): a real SDK server that completes,
 * behind a bearer token, federated by the real gateway, asked by SDK clients of both lines through it.
 */
const clientKey = 'gatehouse_sk_completion_agent_key_0123456789ab';
const upstreamToken = 'upstream-completion-bearer-0123456789abcdef';

const projects = ['gatehouse', 'gateway', 'garden', 'orchard'];
/** What the server received, last first. */
const asked: FixtureCompletionRequest[] = [];

const completing: FixtureFeatures = {
  resources: [
    {
      uriTemplate: 'issues://{project}/{id}',
      name: 'issue',
      read: () => undefined,
    },
  ],
  prompts: [
    {
      name: 'triage',
      arguments: [
        { name: 'project', required: true },
        { name: 'label', required: false },
      ],
      get: (args) => [{ role: 'user', content: { type: 'text', text: `Triage ${args['project']}` } }],
    },
    { name: 'hidden', arguments: [{ name: 'x' }], get: () => [] },
  ],
  complete: (request) => {
    asked.unshift(request);
    const { argument, context } = request;
    if (argument.value === 'many') {
      return { values: Array.from({ length: 150 }, (_, i) => `many-${i}`), total: 150 };
    }
    if (argument.value === 'leak') return { values: [`token ${upstreamToken}`] };
    if (argument.name === 'label') return { values: [`${context?.arguments?.['project'] ?? 'none'}-bug`] };
    return { values: projects.filter((p) => p.startsWith(argument.value)), hasMore: false };
  },
};

let upstream: LegacyMcpUpstream;
let plain: LegacyMcpUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startLegacyMcpUpstream([], upstreamToken, 100, completing);
  // A server with prompts that does not declare `completions`.
  plain = await startLegacyMcpUpstream([], undefined, 100, {
    prompts: [{ name: 'note', arguments: [{ name: 'topic' }], get: () => [] }],
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          { id: 'tracker', mcp: upstream.url, auth: { type: 'bearer', token: upstreamToken } },
          { id: 'notes', mcp: plain.url },
        ],
        toolsets: [
          { id: 'all', tools: ['*'], exclude: ['tracker_hidden'], discovery: { mode: 'never' } },
          // Reaches the tracker's prompts but not its resources.
          { id: 'prompts', tools: ['tracker_triage', 'notes_*'], discovery: { mode: 'never' } },
          { id: 'plain', tools: ['notes_*'], discovery: { mode: 'never' } },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'prompts', 'plain'], subject: 'alice' }],
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await plain?.close();
});

const connectV2 = (toolset: string) =>
  connectClientV2(`${gateway.url}/mcp/acme/${toolset}`, clientKey, 'completion-e2e');
const connectV1 = (toolset: string) =>
  connectClientV1(`${gateway.url}/mcp/acme/${toolset}`, clientKey, 'completion-e2e-v1');

async function records(): Promise<{ tool: string; decision: string; code: string | null; path: string | null }[]> {
  await gateway.adapters.audit?.flush();
  return (await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 10_000 }))
    .filter((record) => record.method === 'completion/complete')
    .map((record) => ({
      tool: record.tool,
      decision: record.decision,
      code: record.code,
      path: record.pathTemplate,
    }));
}

const completionCalls = (server: LegacyMcpUpstream) =>
  server.reads.filter((read) => read.method === 'completion/complete').length;

describe('federated completion/complete', () => {
  it('declares completions only on an endpoint that reaches a server that completes', async () => {
    const all = await connectV2('all');
    const bare = await connectV2('plain');
    try {
      expect(all.getServerCapabilities()?.completions).toEqual({});
      expect(bare.getServerCapabilities()?.prompts).toBeDefined();
      expect(bare.getServerCapabilities()?.completions).toBeUndefined();
    } finally {
      await all.close();
      await bare.close();
    }
  });

  it("completes a prompt argument under the gateway's prompt name, with the service credential and the context", async () => {
    const client = await connectV2('all');
    try {
      const before = (await records()).length;
      const answer = await client.complete({
        ref: { type: 'ref/prompt', name: 'tracker_triage' },
        argument: { name: 'project', value: 'ga' },
      });
      expect(answer.completion).toEqual({ values: ['gatehouse', 'gateway', 'garden'], hasMore: false });
      expect(asked[0]).toEqual({
        ref: { type: 'ref/prompt', name: 'triage' },
        argument: { name: 'project', value: 'ga' },
      });
      expect(upstream.reads.at(-1)).toEqual({
        method: 'completion/complete',
        target: 'triage',
        authorization: `Bearer ${upstreamToken}`,
      });
      const withContext = await client.complete({
        ref: { type: 'ref/prompt', name: 'tracker_triage' },
        argument: { name: 'label', value: '' },
        context: { arguments: { project: 'gatehouse' } },
      });
      expect(withContext.completion.values).toEqual(['gatehouse-bug']);
      expect((await records()).slice(before)).toEqual([
        { tool: 'tracker_triage', decision: 'allow', code: null, path: 'ref/prompt triage' },
        { tool: 'tracker_triage', decision: 'allow', code: null, path: 'ref/prompt triage' },
      ]);
    } finally {
      await client.close();
    }
  });

  it('completes a resource template variable (SDK 1.x client too)', async () => {
    const client = await connectV1('all');
    try {
      const answer = await client.complete({
        ref: { type: 'ref/resource', uri: 'issues://{project}/{id}' },
        argument: { name: 'project', value: 'or' },
      });
      expect(answer.completion.values).toEqual(['orchard']);
      expect(asked[0]?.ref).toEqual({ type: 'ref/resource', uri: 'issues://{project}/{id}' });
      expect(upstream.reads.at(-1)?.authorization).toBe(`Bearer ${upstreamToken}`);
    } finally {
      await client.close();
    }
  });

  it('refuses a ref the toolset does not expose with -32602, without asking the server', async () => {
    const all = await connectV2('all');
    const prompts = await connectV2('prompts');
    try {
      const calls = completionCalls(upstream);
      const before = (await records()).length;
      const refused = [
        // Excluded by the toolset.
        all.complete({ ref: { type: 'ref/prompt', name: 'tracker_hidden' }, argument: { name: 'x', value: '' } }),
        // The server's own name, not the one the toolset lists.
        all.complete({ ref: { type: 'ref/prompt', name: 'triage' }, argument: { name: 'project', value: '' } }),
        // A template no service lists.
        all.complete({ ref: { type: 'ref/resource', uri: 'other://{id}' }, argument: { name: 'id', value: '' } }),
        // The tracker's resources are not in this toolset.
        prompts.complete({
          ref: { type: 'ref/resource', uri: 'issues://{project}/{id}' },
          argument: { name: 'project', value: '' },
        }),
      ];
      for (const pending of refused) {
        const error = await pending.then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
        expect(error).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code).toBe(-32602);
      }
      await expect(refused[0]).rejects.toThrow(/Unknown prompt: tracker_hidden/);
      await expect(refused[3]).rejects.toThrow(/Unknown resource template: issues:\/\/\{project\}\/\{id\}/);
      expect(completionCalls(upstream)).toBe(calls);
      const audited = (await records()).slice(before);
      expect(audited).toHaveLength(4);
      // As an unknown prompt of prompts/get: `not_found` (decision `error`, as the error table says).
      expect(audited.map((record) => [record.decision, record.code])).toEqual(Array(4).fill(['error', 'not_found']));
    } finally {
      await all.close();
      await prompts.close();
    }
  });

  it('answers no values for a prompt of a server that does not complete, without asking it', async () => {
    const client = await connectV2('prompts');
    try {
      const answer = await client.complete({
        ref: { type: 'ref/prompt', name: 'notes_note' },
        argument: { name: 'topic', value: 'a' },
      });
      expect(answer.completion).toEqual({ values: [] });
      expect(completionCalls(plain)).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('cuts a server answer to 100 values (hasMore, total kept) and scrubs the credential from values', async () => {
    const client = await connectV2('all');
    try {
      const many = await client.complete({
        ref: { type: 'ref/prompt', name: 'tracker_triage' },
        argument: { name: 'project', value: 'many' },
      });
      expect(many.completion.values).toHaveLength(100);
      expect(many.completion.values[99]).toBe('many-99');
      expect(many.completion).toMatchObject({ total: 150, hasMore: true });
      const leak = await client.complete({
        ref: { type: 'ref/prompt', name: 'tracker_triage' },
        argument: { name: 'project', value: 'leak' },
      });
      expect(JSON.stringify(leak)).not.toContain(upstreamToken);
    } finally {
      await client.close();
    }
  });
});
