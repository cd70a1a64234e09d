import type { IncomingMessage } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindCatalog, loadCatalog } from '../../src/catalog/index.ts';
import { countTokens } from '../../src/shaping/index.ts';
import { listPackIds, type Pack, readPack, requestBodyOf } from '../support/read-pack.ts';
import { sampleFromSchema } from '../support/sample-from-schema.ts';
import { type PackUpstream, startPackUpstream } from '../support/start-pack-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const clientKey = 'gatehouse_sk_e2e_packs_client_key_0123456789';
const secret = 'upstream-pack-credential-7d6c5b4a39';
const basicUser = 'pack-user';
const packs = listPackIds().map(readPack);

type Scheme = { type: string; scheme?: string; in?: string; name?: string };

/** The credential a pack's first security scheme asks for, as gateway auth config. */
function authOf(pack: Pack): Record<string, unknown> {
  const schemes = Object.values(
    ((pack.doc['components'] as Record<string, unknown>)['securitySchemes'] ?? {}) as Record<string, Scheme>,
  );
  const scheme = schemes[0] as Scheme;
  if (scheme.type === 'http' && scheme.scheme === 'basic') {
    return { type: 'basic', username: basicUser, password: secret };
  }
  if (scheme.type === 'apiKey') return { type: 'apiKey', in: scheme.in, name: scheme.name, value: secret };
  return { type: 'bearer', token: secret };
}

function hasCredential(pack: Pack, req: IncomingMessage, url: URL): boolean {
  const auth = authOf(pack);
  if (auth['type'] === 'basic') {
    return req.headers.authorization === `Basic ${Buffer.from(`${basicUser}:${secret}`).toString('base64')}`;
  }
  if (auth['type'] === 'apiKey') {
    const name = String(auth['name']);
    return auth['in'] === 'query' ? url.searchParams.get(name) === secret : req.headers[name.toLowerCase()] === secret;
  }
  return req.headers.authorization === `Bearer ${secret}`;
}

/** Valid arguments for one tool: required parameters (their example, else generated) and the body's required fields. */
function argumentsFor(pack: Pack, name: string): Record<string, unknown> {
  const tool = bindCatalog(loadCatalog(pack.file), pack.id).byName.get(name)?.tool;
  const operation = pack.operations.find((o) => o.operationId === tool?.key);
  if (tool === undefined || operation === undefined) throw new Error(`${name}: not in the pack`);
  const args: Record<string, unknown> = {};
  for (const parameter of operation.parameters) {
    if (parameter['required'] !== true) continue;
    const target = tool.request.parameters.find((p) => p.name === parameter['name'] && p.in === parameter['in']);
    const schema = parameter['example'] === undefined ? parameter['schema'] : { examples: [parameter['example']] };
    args[target?.argument ?? String(parameter['name'])] = sampleFromSchema(pack.doc, schema, {
      at: `${name}.${String(parameter['name'])}`,
    });
  }
  const body = requestBodyOf(pack.doc, operation);
  if (body !== undefined && tool.request.body !== undefined) {
    args[tool.request.body.argument] = sampleFromSchema(pack.doc, body.schema, { at: `${name}.body` });
  }
  return args;
}

let upstream: PackUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startPackUpstream(packs, hasCredential);
  // The write toolset lists the pack as `provider:` serves it: structured output on (the default), the list within
  // the pack bound of 2,500 tokens (output schemas dropped largest first to fit). The read toolset lists every output
  // schema, so the SDK client validates every read result's structuredContent against all of them.
  const toolset = (id: string, pack: string, access: 'read' | 'write') => ({
    id,
    tools: [`${pack}_*`],
    access,
    approval: 'none',
    discovery: access === 'write' ? { maxListTokens: 2_500 } : { mode: 'never' },
    results: { handles: { enabled: false } },
  });
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'packs',
        services: packs.map((pack) => ({
          id: pack.id,
          openapi: pack.file,
          baseUrl: upstream.baseUrlOf(pack.id),
          auth: authOf(pack),
        })),
        toolsets: packs.flatMap((pack) => [
          toolset(pack.id, pack.id, 'write'),
          toolset(`${pack.id}-read`, pack.id, 'read'),
        ]),
        clientKeys: [
          { name: 'agent', key: clientKey, toolsets: packs.flatMap((p) => [p.id, `${p.id}-read`]), subject: 'ada' },
        ],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function connect(toolset: string): Promise<Client> {
  const client = new Client({ name: 'packs-e2e', version: '1.0.0' });
  const url = new URL(`${gateway.url}/mcp/packs/${toolset}`);
  await client.connect(
    new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${clientKey}` } } }),
  );
  return client;
}

type ToolResult = {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
};

describe.each(packs.map((pack) => [pack.id, pack] as const))('curated pack %s through the gateway', (_, pack) => {
  it('lists every tool within 2,500 tokens and calls each read tool once with valid arguments', async () => {
    const client = await connect(pack.id);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(pack.operations.map((o) => `${pack.id}_${o.operationId}`).sort());
    expect(countTokens(JSON.stringify({ tools }))).toBeLessThanOrEqual(2_500);
    // Through the bounded list the 2.x client validates what is declared; a tool whose schema was dropped still
    // returns the answer's structuredContent, undeclared, which the client accepts.
    for (const tool of tools.filter((t) => t.annotations?.readOnlyHint === true)) {
      const result = (await client.callTool({
        name: tool.name,
        arguments: argumentsFor(pack, tool.name),
      })) as ToolResult;
      expect(result.isError, `${tool.name}: ${result.content[0]?.text}`).toBeFalsy();
      expect(result.structuredContent, tool.name).toBeDefined();
      expect(result.structuredContent?.['_gatehouse'], tool.name).toBeUndefined();
    }
    const reader = await connect(`${pack.id}-read`);
    const reads = (await reader.listTools()).tools;
    // The read tools are the GETs and the POSTs the pack marks `x-gatehouse-safety: safe` (Dropbox's RPC reads).
    const readOperations = pack.operations.filter((o) =>
      o.raw['x-gatehouse-safety'] === undefined ? o.method === 'GET' : o.raw['x-gatehouse-safety'] === 'safe',
    );
    expect(reads.map((t) => t.name).sort()).toEqual(readOperations.map((o) => `${pack.id}_${o.operationId}`).sort());
    const ajv = addFormats(new Ajv2020({ strict: false, logger: false }));
    for (const tool of reads) {
      expect(tool.annotations?.readOnlyHint, tool.name).toBe(true);
      const args = argumentsFor(pack, tool.name);
      const validate = ajv.compile(tool.inputSchema);
      expect(validate(args), `${tool.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      const before = upstream.hits.length;
      const result = (await reader.callTool({ name: tool.name, arguments: args })) as ToolResult;
      expect(result.isError, `${tool.name}: ${result.content[0]?.text}`).toBeFalsy();
      // An answer generated from the response schema matches the output schema declared from it.
      if (tool.outputSchema !== undefined) expect(result.structuredContent?.['_gatehouse'], tool.name).toBeUndefined();
      const hits = upstream.hits.slice(before);
      expect(hits.map((h) => [h.pack, h.operationId, h.problems])).toEqual([
        [pack.id, tool.name.slice(pack.id.length + 1), []],
      ]);
    }
    await reader.close();
    await client.close();
  });

  it('calls each write tool once with valid arguments (the fake upstream checks the request)', async () => {
    const client = await connect(pack.id);
    const { tools } = await client.listTools();
    for (const tool of tools.filter((t) => t.annotations?.readOnlyHint !== true)) {
      const before = upstream.hits.length;
      const result = (await client.callTool({
        name: tool.name,
        arguments: argumentsFor(pack, tool.name),
      })) as ToolResult;
      expect(result.isError, `${tool.name}: ${result.content[0]?.text}`).toBeFalsy();
      expect(upstream.hits.slice(before).map((h) => [h.operationId, h.problems])).toEqual([
        [tool.name.slice(pack.id.length + 1), []],
      ]);
    }
    await client.close();
  });
});
