import { fileURLToPath } from 'node:url';
import { type Client as ClientV2, LOG_LEVEL_META_KEY } from '@modelcontextprotocol/client';
import type { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectClientV1, connectClientV2 } from '../support/connect-mcp-clients.ts';
import {
  type FixtureTool,
  type LegacyMcpUpstream,
  startLegacyMcpUpstream,
  startModernMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Log messages of federated servers (issue 12): a 2026-07-28 client that sets a log level on its `tools/call`
 * (`_meta["io.modelcontextprotocol/logLevel"]`) gets the server's `notifications/message` of that call, at that
 * level or more severe, scrubbed of the service's credential, bounded in number and size; a call without a level
 * gets none. Real SDK servers of both eras behind bearer tokens, the real gateway, SDK clients of both lines.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_logging_agent_key_0123456789abcd';
const legacyToken = 'upstream-logging-legacy-bearer-0123456789abcdef';
const modernToken = 'upstream-logging-modern-bearer-0123456789abcdef';

type Logged = { level: string; logger?: string; data?: unknown };
/** The levels each server logs at, one message each; the warning carries the service's secret. */
const levels = ['debug', 'info', 'notice', 'warning', 'error', 'critical'] as const;
const messageOf = (level: string, token: string) =>
  level === 'warning' ? `refreshing with ${token}` : { step: level, detail: `${level} detail` };
/** Each server's own record of the log level it was asked for (the last call first). */
const askedLevels: (string | undefined)[] = [];

const legacyTools: FixtureTool[] = [
  {
    name: 'logs',
    description: 'Logs at every level during the call',
    annotations: { destructiveHint: false },
    call: async (_args, request) => {
      for (const level of levels) await request?.log(level, messageOf(level, legacyToken), `fixture.${level}`);
      return { content: [{ type: 'text', text: 'logged' }] };
    },
  },
  {
    name: 'labelled',
    description: 'Logs its label three times, slowly (calls overlap)',
    inputSchema: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] },
    annotations: { destructiveHint: false },
    call: async (args, request) => {
      for (let i = 0; i < 3; i++) {
        await request?.log('error', `${String(args['label'])} ${i}`);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      return { content: [{ type: 'text', text: 'labelled' }] };
    },
  },
  {
    name: 'chatty',
    description: 'Logs far too much',
    annotations: { destructiveHint: false },
    call: async (_args, request) => {
      for (let i = 0; i < 400; i++) await request?.log('error', { i, blob: 'y'.repeat(i === 0 ? 100_000 : 10) });
      return { content: [{ type: 'text', text: 'chatted' }] };
    },
  },
];

function extendModern(server: McpServer): void {
  server.registerTool(
    'logs',
    { description: 'Logs at every level during the call', inputSchema: z.object({}) },
    async (_args, ctx) => {
      askedLevels.unshift((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY] as string);
      for (const level of levels) await ctx.mcpReq.log(level, messageOf(level, modernToken), `fixture.${level}`);
      return { content: [{ type: 'text', text: 'logged' }] };
    },
  );
  server.registerResource('logged', 'modern://logged', { mimeType: 'text/plain' }, async (uri, ctx) => {
    for (const level of levels) await ctx.mcpReq.log(level, messageOf(level, modernToken), `fixture.${level}`);
    return { contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'read' }] };
  });
  server.registerPrompt('logged', { description: 'Logs while it is got' }, async (ctx) => {
    for (const level of levels) await ctx.mcpReq.log(level, messageOf(level, modernToken), `fixture.${level}`);
    return { messages: [{ role: 'user', content: { type: 'text', text: 'got' } }] };
  });
}

let legacy: LegacyMcpUpstream;
let modern: { url: string; close(): Promise<void> };
let gateway: TestGateway;

beforeAll(async () => {
  legacy = await startLegacyMcpUpstream(legacyTools, legacyToken, 100, { logging: true });
  modern = await startModernMcpUpstream(extendModern, { logging: {} });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          { id: 'legacy', mcp: legacy.url, auth: { type: 'bearer', token: legacyToken } },
          { id: 'modern', mcp: modern.url, auth: { type: 'bearer', token: modernToken } },
          { id: 'rest', openapi: description, baseUrl: 'http://127.0.0.1:9' },
        ],
        toolsets: [
          { id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } },
          { id: 'http', tools: ['rest_*'], access: 'write', approval: 'none', discovery: { mode: 'never' } },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'http'], subject: 'alice' }],
      },
    ],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await legacy?.close();
  await modern?.close();
});

const endpoint = (toolset: string) => `${gateway.url}/mcp/acme/${toolset}`;

/** A 2.x client recording every `notifications/message` it receives. */
async function loggingClientV2(toolset = 'all'): Promise<{ client: ClientV2; logged: Logged[] }> {
  const client = await connectClientV2(endpoint(toolset), clientKey, 'logging-e2e');
  const logged: Logged[] = [];
  client.setNotificationHandler('notifications/message', (notification) => {
    logged.push(notification.params as Logged);
  });
  return { client, logged };
}

/** Calls a tool with a log level set (the 2026-07-28 per-request level); returns what was logged before the result. */
async function callWithLevel(client: ClientV2, logged: Logged[], name: string, level?: string) {
  const result = await client.callTool({
    name,
    arguments: {},
    ...(level === undefined ? {} : { _meta: { [LOG_LEVEL_META_KEY]: level } }),
  });
  return { result, logged: [...logged] };
}

const expectedAt = (token: string) =>
  (['warning', 'error', 'critical'] as const).map((level) => ({
    level,
    logger: `fixture.${level}`,
    data: level === 'warning' ? 'refreshing with [REDACTED]' : messageOf(level, token),
  }));

describe('log messages of federated servers', () => {
  it('relays the messages at or above the level a 2026-07-28 client set, scrubbed, during the call (servers of both eras)', async () => {
    for (const [name, token] of [
      ['legacy_logs', legacyToken],
      ['modern_logs', modernToken],
    ] as const) {
      const { client, logged } = await loggingClientV2();
      const { result, logged: before } = await callWithLevel(client, logged, name, 'warning');
      expect(result.content).toEqual([{ type: 'text', text: 'logged' }]);
      expect(before).toEqual(expectedAt(token));
      expect(JSON.stringify(before)).not.toContain(token);
      await client.close();
    }
    // The 2026-07-28 server was asked for the client's level on its own request.
    expect(askedLevels[0]).toBe('warning');
  });

  it('relays the messages of a federated resources/read and prompts/get the same way', async () => {
    const { client, logged } = await loggingClientV2();
    const meta = { _meta: { [LOG_LEVEL_META_KEY]: 'warning' } };
    const read = await client.readResource({ uri: 'modern://logged', ...meta });
    expect(read.contents[0]).toMatchObject({ text: 'read' });
    expect(logged.splice(0)).toEqual(expectedAt(modernToken));
    const got = await client.getPrompt({ name: 'modern_logged', ...meta });
    expect(got.messages[0]?.content).toEqual({ type: 'text', text: 'got' });
    expect(logged.splice(0)).toEqual(expectedAt(modernToken));
    await client.readResource({ uri: 'modern://logged' });
    await client.getPrompt({ name: 'modern_logged' });
    expect(logged).toEqual([]);
    await client.close();
  });

  it('relays nothing, and asks the server for nothing, when the client set no level', async () => {
    for (const name of ['legacy_logs', 'modern_logs']) {
      const { client, logged } = await loggingClientV2();
      const { result, logged: before } = await callWithLevel(client, logged, name);
      expect(result.content).toEqual([{ type: 'text', text: 'logged' }]);
      expect(before).toEqual([]);
      await client.close();
    }
    expect(askedLevels[0]).toBeUndefined();
  });

  it('gives each of concurrent calls on one shared 2025-era upstream session its own messages only', async () => {
    const clients = await Promise.all(['a', 'b', 'c'].map(() => loggingClientV2()));
    const sessions = legacy.sessionsOpened();
    await Promise.all(
      (['a', 'b', 'c'] as const).map((label, i) =>
        clients[i]?.client.callTool({
          name: 'legacy_labelled',
          arguments: { label },
          ...(label === 'b' ? {} : { _meta: { [LOG_LEVEL_META_KEY]: 'info' } }),
        }),
      ),
    );
    // One credential, one upstream session for all three calls.
    expect(legacy.sessionsOpened()).toBe(sessions);
    expect(clients.map(({ logged }) => logged.map((message) => message.data))).toEqual([
      ['a 0', 'a 1', 'a 2'],
      [],
      ['c 0', 'c 1', 'c 2'],
    ]);
    for (const { client } of clients) await client.close();
  });

  it('bounds what a chatty server logs during one call, in number and in size', async () => {
    const { client, logged } = await loggingClientV2();
    const { result, logged: before } = await callWithLevel(client, logged, 'legacy_chatty', 'debug');
    expect(result.content).toEqual([{ type: 'text', text: 'chatted' }]);
    const relayed = before.filter((message) => message.logger !== 'gatehouse');
    expect(relayed.length).toBe(100);
    // The first message's data (100 KB) was cut to a bounded text.
    expect(JSON.stringify(relayed[0]?.data).length).toBeLessThanOrEqual(8_300);
    expect(String(relayed[0]?.data)).toContain('cut');
    expect(relayed[1]).toEqual({ level: 'error', data: { i: 1, blob: 'y'.repeat(10) } });
    // One notice says the rest were dropped.
    expect(before.filter((message) => message.logger === 'gatehouse')).toEqual([
      { level: 'warning', logger: 'gatehouse', data: expect.stringContaining('more than 100 log messages') },
    ]);
    await client.close();
  });

  it('declares logging to 2026-07-28 clients of toolsets reaching a federated server only', async () => {
    const { client } = await loggingClientV2();
    expect(client.getServerCapabilities()?.logging).toEqual({});
    await client.close();
    const { client: http } = await loggingClientV2('http');
    expect(http.getServerCapabilities()?.logging).toBeUndefined();
    await http.close();
  });

  it('gives a 2025-era client no log messages and does not declare logging to it', async () => {
    const client: ClientV1 = await connectClientV1(endpoint('all'), clientKey, 'logging-e2e-v1');
    expect(client.getServerCapabilities()?.logging).toBeUndefined();
    const logged: Logged[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logged.push(notification.params as Logged);
    });
    const result = await client.callTool({ name: 'legacy_logs', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'logged' }]);
    expect(logged).toEqual([]);
    await client.close();
  });
});
