import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedSpec } from '../support/shared-specs-dir.ts';
import { type FakeApi, type ReceivedRequest, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Services described by Google Discovery, GraphQL and WSDL go through the same gateway as OpenAPI ones: a real MCP
 * client lists and calls a read and a write tool of each, against fake upstreams on 127.0.0.1 speaking the protocol.
 */
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const clientKey = 'gatehouse_sk_formats_agent_key_0123456789abcdef';
const upstreamToken = 'upstream-bearer-formats-0123456789';

const vies = sharedSpec('soap.eu-vies.checkVatService.wsdl');
const xml = new XMLParser({ removeNSPrefix: false, ignoreAttributes: false, parseTagValue: false });

let api: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  api = await startFakeApi();
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'mail',
            googleDiscovery: fixture('mail.discovery.json'),
            baseUrl: `${api.url}/mail/v1/`,
            auth: { type: 'bearer', token: upstreamToken },
          },
          {
            id: 'shop',
            graphql: fixture('shop.graphql'),
            baseUrl: `${api.url}/graphql`,
            auth: { type: 'bearer', token: upstreamToken },
          },
          { id: 'orders', wsdl: fixture('orders.wsdl'), baseUrl: `${api.url}/soap/orders`, auth: { type: 'none' } },
          ...(vies === undefined ? [] : [{ id: 'vies', wsdl: vies, baseUrl: `${api.url}/soap/vies` }]),
        ],
        toolsets: [
          // The tools themselves are listed (not the discovery trio) whatever their listing's token size.
          { id: 'all', tools: ['*'], access: 'write', approval: 'none', discovery: { mode: 'never' } },
          { id: 'reader', tools: ['*'], access: 'read', discovery: { mode: 'never' } },
          {
            id: 'readscope',
            tools: ['*'],
            access: 'write',
            approval: 'none',
            policy: { scopes: ['https://mail.example.com/auth/mail.readonly'] },
            discovery: { mode: 'never' },
          },
        ],
        clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all', 'reader', 'readscope'], subject: 'alice' }],
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await api?.close();
});

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };

async function connect(toolset: string): Promise<Client> {
  const client = new Client({ name: 'formats-e2e', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp/acme/${toolset}`), {
      requestInit: { headers: { Authorization: `Bearer ${clientKey}` } },
    }),
  );
  return client;
}

/** The names of a service's tools in a listing (without the gateway's own result tools), sorted. */
async function serviceTools(client: Client, service: string): Promise<string[]> {
  const { tools } = await client.listTools();
  return tools
    .map((t) => t.name)
    .filter((name) => name.startsWith(`${service}_`))
    .sort();
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

function codeOf(result: ToolResult): string | undefined {
  expect(result.isError).toBe(true);
  return (result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
}

async function auditedTools(): Promise<string[]> {
  await gateway.adapters.audit?.flush();
  const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 10_000 });
  return records.filter((r) => r.kind === 'tool_call').map((r) => String(r.tool));
}

/** The `pathTemplate` of each tool's latest outcome record, by tool. */
async function auditedPaths(): Promise<Record<string, string | null>> {
  await gateway.adapters.audit?.flush();
  const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', limit: 10_000 });
  const paths: Record<string, string | null> = {};
  for (const r of records.filter((r) => r.kind === 'tool_call').reverse()) paths[String(r.tool)] = r.pathTemplate;
  return paths;
}

describe('a Google Discovery service', () => {
  it('lists its methods as tools and calls a read and a write one with the upstream credential', async () => {
    const client = await connect('all');
    expect(await serviceTools(client, 'mail')).toEqual(['mail_users_messages_list', 'mail_users_messages_send']);

    api.handle((request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: request.method, path: request.path, query: request.url, body: request.body }));
    });
    const read = await call(client, 'mail_users_messages_list', { userId: 'me', labelIds: ['INBOX', 'UNREAD'] });
    expect(read.isError).toBeFalsy();
    const seen = api.received.at(-1)!;
    expect(seen.method).toBe('GET');
    expect(seen.path).toBe('/mail/v1/me/messages');
    expect(seen.query.getAll('labelIds')).toEqual(['INBOX', 'UNREAD']);
    expect(seen.headers['authorization']).toBe(`Bearer ${upstreamToken}`);

    const write = await call(client, 'mail_users_messages_send', { userId: 'me', body: { raw: 'SGk' } });
    expect(write.isError).toBeFalsy();
    const sent = api.received.at(-1)!;
    expect([sent.method, sent.path, JSON.parse(sent.body)]).toEqual([
      'POST',
      '/mail/v1/me/messages/send',
      { raw: 'SGk' },
    ]);
    expect(await auditedTools()).toEqual(
      expect.arrayContaining(['mail_users_messages_list', 'mail_users_messages_send']),
    );
    await client.close();
  });

  it('a read toolset exposes only the GET method; a toolset limited to the read scope denies send', async () => {
    const reader = await connect('reader');
    expect(await serviceTools(reader, 'mail')).toEqual(['mail_users_messages_list']);
    await reader.close();
    const scoped = await connect('readscope');
    const before = api.received.length;
    expect(codeOf(await call(scoped, 'mail_users_messages_send', { userId: 'me', body: { raw: 'x' } }))).toBe(
      'scope_missing',
    );
    expect(api.received.length).toBe(before);
    expect(codeOf(await call(scoped, 'mail_users_messages_list', { userId: 'me', maxResults: 'ten' }))).toBe(
      'invalid_arguments',
    );
    await scoped.close();
  });
});

/** Order lines of an order: one for order 7 (read as an object, not an array), two for order 8, none otherwise. */
function lines(order: number): string {
  const line = (sku: string) => `<o:line><o:sku>${sku}</o:sku><o:quantity>2</o:quantity></o:line>`;
  return order === 7 ? line('A') : order === 8 ? line('A') + line('B') : '';
}

/** The fake API's answer to every protocol: routed by path, each checking what it received. */
function serveProtocols(request: ReceivedRequest, res: import('node:http').ServerResponse): void {
  if (request.path === '/graphql') {
    const { query, variables } = JSON.parse(request.body) as { query: string; variables: Record<string, unknown> };
    res.writeHead(200, { 'content-type': 'application/json' });
    if (query.startsWith('query Item(')) {
      if (variables['id'] === 'missing') {
        res.end(JSON.stringify({ data: { item: null }, errors: [{ message: 'Could not resolve to an Item' }] }));
        return;
      }
      res.end(
        JSON.stringify({
          data: { item: { id: variables['id'], name: 'Lamp', color: 'RED', owner: { login: 'ann' } } },
        }),
      );
      return;
    }
    const input = variables['input'] as { name: string; color?: string };
    res.end(
      JSON.stringify({ data: { createItem: { id: '2', name: input.name, color: input.color ?? 'RED', owner: null } } }),
    );
    return;
  }
  const envelope = xml.parse(request.body) as Record<string, Record<string, Record<string, unknown>>>;
  const body = envelope['soap:Envelope']?.['soap:Body'] ?? {};
  const ok = (inner: string) => {
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
    res.end(
      `<?xml version="1.0"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>${inner}</S:Body></S:Envelope>`,
    );
  };
  if (request.path === '/soap/vies') {
    const check = body['ns0:checkVat'] as Record<string, string>;
    if (check['@_xmlns:ns0'] !== 'urn:ec.europa.eu:taxud:vies:services:checkVat:types') throw new Error('namespace');
    if (check['ns0:countryCode'] === 'XX') {
      res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
      res.end(
        '<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>INVALID_INPUT</faultstring></S:Fault></S:Body></S:Envelope>',
      );
      return;
    }
    ok(
      `<ns2:checkVatResponse xmlns:ns2="urn:ec.europa.eu:taxud:vies:services:checkVat:types"><ns2:countryCode>${check['ns0:countryCode']}</ns2:countryCode><ns2:vatNumber>${check['ns0:vatNumber']}</ns2:vatNumber><ns2:requestDate>2026-12-03+01:00</ns2:requestDate><ns2:valid>true</ns2:valid><ns2:name>ACME</ns2:name></ns2:checkVatResponse>`,
    );
    return;
  }
  const get = body['ns0:GetOrder'] as Record<string, string> | undefined;
  if (get !== undefined) {
    ok(
      `<o:GetOrderResponse xmlns:o="urn:orders"><o:id>${get['ns0:id']}</o:id><o:status>open</o:status>${lines(Number(get['ns0:id']))}</o:GetOrderResponse>`,
    );
    return;
  }
  ok('<o:CreateOrderResponse xmlns:o="urn:orders"><o:id>99</o:id></o:CreateOrderResponse>');
}

describe('a GraphQL service', () => {
  it('lists Query fields as read tools and Mutation fields as write tools, and calls both with variables', async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    expect(await serviceTools(client, 'shop')).toEqual(['shop_createItem', 'shop_item']);
    const read = await call(client, 'shop_item', { id: '1' });
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent).toEqual({ id: '1', name: 'Lamp', color: 'RED', owner: { login: 'ann' } });
    const sent = api.received.at(-1)!;
    expect([sent.method, sent.path, sent.headers['content-type']]).toEqual(['POST', '/graphql', 'application/json']);
    expect(sent.headers['authorization']).toBe(`Bearer ${upstreamToken}`);
    expect(JSON.parse(sent.body)).toEqual({
      query: 'query Item($id: ID!) { item(id: $id) { id name color owner { login } } }',
      variables: { id: '1' },
    });
    const write = await call(client, 'shop_createItem', { input: { name: 'Desk', color: 'GREEN' } });
    expect(write.structuredContent).toMatchObject({ id: '2', name: 'Desk', color: 'GREEN' });
    expect(JSON.parse(api.received.at(-1)!.body).variables).toEqual({ input: { name: 'Desk', color: 'GREEN' } });
    await client.close();
  });

  it('GraphQL errors with HTTP 200 are a tool error; bad arguments never reach the upstream', async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    expect(codeOf(await call(client, 'shop_item', { id: 'missing' }))).toBe('upstream_error');
    const before = api.received.length;
    expect(codeOf(await call(client, 'shop_createItem', { input: { name: 'x', color: 'PINK' } }))).toBe(
      'invalid_arguments',
    );
    expect(api.received.length).toBe(before);
    const reader = await connect('reader');
    expect(await serviceTools(reader, 'shop')).toEqual(['shop_item']);
    await reader.close();
    await client.close();
  });
});

describe('output schemas of GraphQL and SOAP tools, validated by the 2.x SDK client', () => {
  it('a GraphQL tool declares the selection of its return type, and its answer conforms', async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'shop_item')?.outputSchema).toEqual({
      type: 'object',
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        color: { type: ['string', 'null'] },
        owner: { type: ['object', 'null'], properties: { login: { type: 'string' } } },
      },
    });
    // The client refuses structuredContent that does not validate against the schema it listed; the gateway
    // marks an answer it could not conform with `_gatehouse`.
    const read = await call(client, 'shop_item', { id: '1' });
    expect(read.isError).toBeFalsy();
    expect(read.structuredContent?.['_gatehouse']).toBeUndefined();
    const write = await call(client, 'shop_createItem', { input: { name: 'Desk' } });
    expect(write.structuredContent).toEqual({ id: '2', name: 'Desk', color: 'RED', owner: null });
    await client.close();
  });

  it("a SOAP tool declares its response element's content as the answer is read (strings, an item or an array)", async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    const { tools } = await client.listTools();
    const lineItem = {
      type: ['object', 'string'],
      properties: { sku: { type: 'string' }, quantity: { type: 'string' } },
    };
    expect(tools.find((tool) => tool.name === 'orders_GetOrder')?.outputSchema).toEqual({
      type: 'object',
      properties: {
        id: { type: 'string' },
        status: { type: 'string' },
        line: { ...lineItem, type: ['array', 'object', 'string'], items: lineItem },
      },
    });
    // CreateOrder's output message is not in the description: no schema, its answer passes undeclared.
    expect(tools.find((tool) => tool.name === 'orders_CreateOrder')?.outputSchema).toBeUndefined();
    for (const [id, line] of [
      [7, { sku: 'A', quantity: '2' }],
      [
        8,
        [
          { sku: 'A', quantity: '2' },
          { sku: 'B', quantity: '2' },
        ],
      ],
      [9, undefined],
    ] as const) {
      const read = await call(client, 'orders_GetOrder', { id });
      expect(read.isError, String(id)).toBeFalsy();
      expect(read.structuredContent, String(id)).toEqual({ id: String(id), status: 'open', ...(line ? { line } : {}) });
    }
    await client.close();
  });
});

describe('a WSDL/SOAP service', () => {
  it('lists bound operations and calls a read and a write one with a SOAP 1.1 envelope', async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    expect(await serviceTools(client, 'orders')).toEqual(['orders_CreateOrder', 'orders_GetOrder']);
    const read = await call(client, 'orders_GetOrder', { id: 7 });
    expect(read.structuredContent).toEqual({ id: '7', status: 'open', line: { sku: 'A', quantity: '2' } });
    const sent = api.received.at(-1)!;
    expect([sent.method, sent.path, sent.headers['soapaction'], sent.headers['content-type']]).toEqual([
      'POST',
      '/soap/orders',
      '"urn:orders:GetOrder"',
      'text/xml; charset=utf-8',
    ]);
    const write = await call(client, 'orders_CreateOrder', { customer: 'Ann & <Bob>', sku: ['A', 'B'] });
    expect(write.structuredContent).toEqual({ id: '99' });
    const raw = api.received.at(-1)!.body;
    expect(raw).toContain('<ns0:customer>Ann &amp; &lt;Bob&gt;</ns0:customer>');
    const created = xml.parse(raw)['soap:Envelope']['soap:Body']['ns0:CreateOrder'];
    expect(created).toMatchObject({ 'ns0:customer': 'Ann & <Bob>', 'ns0:sku': ['A', 'B'] });
    expect(await auditedTools()).toEqual(expect.arrayContaining(['orders_GetOrder', 'orders_CreateOrder']));
    const reader = await connect('reader');
    expect(await serviceTools(reader, 'orders')).toEqual(['orders_GetOrder']);
    await reader.close();
    await client.close();
  });

  it.skipIf(vies === undefined)(
    'calls the EU VIES checkVat against a fake server that checks the envelope; a Fault is a tool error',
    async () => {
      api.handle(serveProtocols);
      const client = await connect('all');
      expect(await serviceTools(client, 'vies')).toEqual(['vies_checkVat', 'vies_checkVatApprox']);
      const result = await call(client, 'vies_checkVat', { countryCode: 'DE', vatNumber: '123456789' });
      expect(result.structuredContent).toMatchObject({ countryCode: 'DE', valid: 'true', name: 'ACME' });
      expect(codeOf(await call(client, 'vies_checkVat', { countryCode: 'XX', vatNumber: '1' }))).toBe('upstream_error');
      await client.close();
    },
  );
});

describe('graphql_audit_path_empty: a GraphQL or SOAP call is audited with its operation as the path', () => {
  it('records query.item, mutation.createItem and OrdersPort.GetOrder, not the empty template of their one endpoint', async () => {
    api.handle(serveProtocols);
    const client = await connect('all');
    expect((await call(client, 'shop_item', { id: '1' })).isError).toBeFalsy();
    expect((await call(client, 'shop_createItem', { input: { name: 'Desk', color: 'GREEN' } })).isError).toBeFalsy();
    expect((await call(client, 'orders_GetOrder', { id: 7 })).isError).toBeFalsy();
    expect(await auditedPaths()).toMatchObject({
      shop_item: 'query.item',
      shop_createItem: 'mutation.createItem',
      orders_GetOrder: 'OrdersPort.GetOrder',
    });
    await client.close();
  });
});
