import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const clientKey = 'gatehouse_sk_e2e_structured_output_0123456789';

/** A pet shop whose description declares response schemas; `/pets/bad` answers off-schema, `/report` in text. */
const description = `openapi: 3.0.3
info: { title: Pets, version: '1' }
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { $ref: '#/components/schemas/Pet' } } }
  /pets:
    get:
      operationId: listPets
      parameters: [{ name: count, in: query, schema: { type: integer } }]
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: array, items: { $ref: '#/components/schemas/Pet' } } } }
  /report:
    get:
      operationId: getReport
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, properties: { total: { type: integer } } } } }
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: { type: integer }
        name: { type: string }
        tags: { type: array, items: { type: string } }
`;

function petOf(id: number) {
  return { id, name: `pet-${id}`, tags: ['a', 'b'] };
}

let upstream: Server;
let gateway: TestGateway;
let dir: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (url.pathname === '/pets/bad') return send(200, 'application/json', '{"id":"seven","name":7}');
    if (url.pathname.startsWith('/pets/')) return send(200, 'application/json', JSON.stringify(petOf(7)));
    if (url.pathname === '/pets') {
      const count = Number(url.searchParams.get('count') ?? '2');
      return send(200, 'application/json', JSON.stringify(Array.from({ length: count }, (_, i) => petOf(i + 1))));
    }
    if (url.pathname === '/report') return send(200, 'text/plain', 'total: 3');
    return send(404, 'application/json', '{}');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-structured-'));
  const file = join(dir, 'pets.openapi.yaml');
  writeFileSync(file, description);
  const toolset = (id: string, structuredOutput: boolean) => ({
    id,
    tools: ['*'],
    access: 'read',
    discovery: { mode: 'never' },
    results: { budget: 500, structuredOutput },
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'shop',
        services: [
          { id: 'pets', openapi: file, baseUrl },
          // The same operations with a projection on getPet: its results no longer have the response's shape.
          { id: 'named', openapi: file, baseUrl, overlays: { getPet: { projection: 'name' } } },
        ],
        toolsets: [toolset('all', true), toolset('plain', false)],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'plain'], subject: 'ada' }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => upstream?.close(resolve));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

type Listed = { name: string; outputSchema?: Record<string, unknown> };
type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };
type AnyClient = {
  listTools(): Promise<{ tools: Listed[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
};

const clients = {
  'SDK 1.x': async (url: URL, headers: Record<string, string>) => {
    const client = new ClientV1({ name: 'structured-v1', version: '1.0.0' });
    await client.connect(new TransportV1(url, { requestInit: { headers } }));
    return client as unknown as AnyClient;
  },
  'SDK 2.x, 2025 era': async (url: URL, headers: Record<string, string>) => {
    const client = new ClientV2({ name: 'structured-v2', version: '1.0.0' });
    await client.connect(new TransportV2(url, { requestInit: { headers } }));
    return client as unknown as AnyClient;
  },
  'SDK 2.x, 2026-07-28': async (url: URL, headers: Record<string, string>) => {
    const client = new ClientV2(
      { name: 'structured-v2-modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new TransportV2(url, { requestInit: { headers } }));
    return client as unknown as AnyClient;
  },
} as const;

async function connect(kind: keyof typeof clients, toolset: string): Promise<AnyClient> {
  const client = await clients[kind](new URL(`${gateway.url}/mcp/shop/${toolset}`), {
    Authorization: `Bearer ${clientKey}`,
  });
  // Both SDK lines validate structuredContent against the output schemas of the last tools/list.
  await client.listTools();
  return client;
}

async function call(client: AnyClient, name: string, args: Record<string, unknown>): Promise<Result> {
  return (await client.callTool({ name, arguments: args })) as Result;
}

describe.each(Object.keys(clients) as (keyof typeof clients)[])('structured output through the %s client', (kind) => {
  it('lists compact output schemas (arrays wrapped as { result }), none for a projected tool', async () => {
    const client = await connect(kind, 'all');
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    const pet = {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
      },
    };
    expect(byName.get('pets_getPet')?.outputSchema).toEqual(pet);
    expect(byName.get('pets_listPets')?.outputSchema).toEqual({
      type: 'object',
      properties: { result: { type: 'array', items: pet } },
    });
    expect(byName.get('named_getPet')?.outputSchema).toBeUndefined();
    expect(byName.get('named_listPets')?.outputSchema).toEqual(byName.get('pets_listPets')?.outputSchema);
    await client.close();
  });

  it('returns structuredContent that validates (the client checks it), for an object and a wrapped array', async () => {
    const client = await connect(kind, 'all');
    const pet = await call(client, 'pets_getPet', { id: '7' });
    expect(pet.isError).toBeFalsy();
    expect(pet.structuredContent).toEqual(petOf(7));
    const list = await call(client, 'pets_listPets', { count: 2 });
    expect(list.structuredContent).toEqual({ result: [petOf(1), petOf(2)] });
    await client.close();
  });

  it('delivers an off-schema answer as text with a _gatehouse note, never an error, and notes it in the audit', async () => {
    const client = await connect(kind, 'all');
    const before = await gateway.adapters.store.audit.query({ tenantId: 'shop', limit: 1000 });
    const bad = await call(client, 'pets_getPet', { id: 'bad' });
    expect(bad.isError).toBeFalsy();
    expect(bad.content[0]?.text).toBe('{"id":"seven","name":7}');
    expect(bad.structuredContent).toEqual({ _gatehouse: { reason: 'unmatched', note: expect.any(String) } });
    const text = await call(client, 'pets_getReport', {});
    expect(text.isError).toBeFalsy();
    expect(text.content[0]?.text).toBe('total: 3');
    expect(text.structuredContent?.['_gatehouse']).toMatchObject({ reason: 'unmatched' });
    const after = await gateway.adapters.store.audit.query({ tenantId: 'shop', limit: 1000 });
    const added = after.filter((record) => !before.some((b) => b.id === record.id));
    expect(added.map((record) => [record.tool, record.decision, record.detail]).sort()).toEqual([
      ['pets_getPet', 'allow', 'output_unmatched'],
      ['pets_getReport', 'allow', 'output_unmatched'],
    ]);
    await client.close();
  });

  it('delivers a handle-sized answer as its summary (marked over_budget), the text the same, and the handle works', async () => {
    const client = await connect(kind, 'all');
    const big = await call(client, 'pets_listPets', { count: 300 });
    expect(big.isError).toBeFalsy();
    const handle = big.structuredContent?.['handle'] as string;
    expect(handle).toMatch(/^rh_/);
    expect(big.structuredContent?.['_gatehouse']).toEqual({ reason: 'over_budget' });
    expect(JSON.parse(big.content[0]?.text ?? '{}')).toMatchObject({ handle });
    const page = await call(client, 'gatehouse_result_query', { handle, expression: 'length(@)' });
    expect(page.isError).toBeFalsy();
    expect(page.structuredContent).toEqual({ result: 300 });
    await client.close();
  });

  it('a projection reshapes the result freely (no output schema is declared for it)', async () => {
    const client = await connect(kind, 'all');
    const named = await call(client, 'named_getPet', { id: '7' });
    expect(named.isError).toBeFalsy();
    expect(named.structuredContent).toEqual({ result: 'pet-7' });
    await client.close();
  });

  it('a toolset with structuredOutput: false lists no output schema and passes answers through as before', async () => {
    const client = await connect(kind, 'plain');
    const { tools } = await client.listTools();
    expect(tools.filter((tool) => tool.outputSchema !== undefined)).toEqual([]);
    const bad = await call(client, 'pets_getPet', { id: 'bad' });
    expect(bad.structuredContent).toEqual({ id: 'seven', name: 7 });
    await client.close();
  });
});
