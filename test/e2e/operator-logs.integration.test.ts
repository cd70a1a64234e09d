import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, systemClock } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';

/**
 * Issue 10 item 8: at `info`, the log explains what happened: start-up and shutdown, one line per tool call with
 * its decision and code (a denied call is not just "status 200"), and why a request got 401; never an argument.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const clientKey = 'gatehouse_sk_operator_logs_suite_0123456789abcdef';
const argumentValue = 'argument-value-never-logged-7f3a';

let api: FakeApi;
const lines: Record<string, unknown>[] = [];
let server: Awaited<ReturnType<typeof startGatehouse>>;
let adapters: Awaited<ReturnType<typeof openAdapters>>;

beforeAll(async () => {
  api = await startFakeApi();
  const config = parseConfig(
    {
      listen: '127.0.0.1:0',
      dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-logs-')),
      logLevel: 'info',
      logFormat: 'json',
      masterKey: randomBytes(32).toString('base64'),
      unsafeAllowPrivateUpstreams: ['127.0.0.1'],
      tenants: [
        {
          id: 'acme',
          services: [
            {
              id: 'fake',
              openapi: description,
              baseUrl: api.url,
              auth: { type: 'bearer', token: 'service-token-0123456789' },
            },
          ],
          toolsets: [{ id: 'all', tools: ['fake_*'], access: 'write', approval: 'destructive' }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  server = await startGatehouse(config, adapters, systemClock, {
    logDestination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
});

afterAll(async () => {
  await adapters?.close();
  await api?.close();
});

async function call(name: string, args: Record<string, unknown>, key = clientKey) {
  const response = await fetch(`${server.url}/mcp/acme/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  return response.status;
}

describe('operator logs at info', () => {
  it('(issue 10 item 8) say start-up, each tool call with its outcome, why a 401 happened, and shutdown', async () => {
    expect(await call('fake_getItem', { itemId: argumentValue })).toBe(200);
    expect(await call('fake_deleteItem', { itemId: argumentValue })).toBe(200); // waits for approval
    expect(await call('fake_getItem', { itemId: argumentValue }, 'gatehouse_sk_wrong_key_0123456789')).toBe(401);
    await server.close();

    const messages = lines.map((line) => line['msg']);
    expect(messages[0]).toBe('gatehouse started');
    expect(lines[0]).toMatchObject({ url: server.url, store: 'sqlite', tenants: 1 });
    expect(messages.slice(-2)).toEqual(['gatehouse stopping', 'gatehouse stopped']);
    const toolCalls = lines.filter((line) => line['msg'] === 'tool call');
    expect(toolCalls.map((line) => [line['tool'], line['decision'], line['code'], line['upstreamStatus']])).toEqual([
      ['fake_getItem', 'allow', null, 200],
      ['fake_deleteItem', 'deny', 'approval_required', null],
    ]);
    expect(toolCalls[0]).toMatchObject({ tenant: 'acme', toolset: 'all', clientKey: 'agent', subject: 'alice' });
    const refused = lines.find((line) => line['msg'] === 'request' && line['status'] === 401);
    expect(refused).toMatchObject({ code: 'unauthenticated', reason: 'invalid_token' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain(argumentValue);
    expect(text).not.toContain(clientKey);
  });
});
