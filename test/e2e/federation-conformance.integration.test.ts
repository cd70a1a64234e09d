import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FixtureFeatures,
  type FixtureTool,
  type LegacyMcpUpstream,
  startLegacyMcpUpstream,
} from '../support/start-mcp-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * The MCP conformance suite's server scenarios (`@modelcontextprotocol/conformance`) run twice: against a fixture
 * server built with the SDK that implements the scenarios' tools, and against the real gateway federating it
 * unprefixed. Every scenario here passes directly and must pass through the gateway. The suite cannot send an
 * Authorization header, so a small proxy on 127.0.0.1 adds the client key (the gateway itself is unchanged).
 *
 * Not run, because they cannot pass through the gateway (see docs/configuration.md, "Remote MCP servers"):
 * - resources-subscribe, resources-unsubscribe: the gateway's endpoint is stateless (no session, no stream to send
 *   `notifications/resources/updated` on), so it does not declare `resources.subscribe`;
 * - logging-set-level, tools-call-with-logging: the suite's client speaks the 2025 era and sets its level once per
 *   session (`logging/setLevel`), which the stateless endpoint does not keep, so it declares no `logging` to that era;
 *   log messages are relayed to 2026-07-28 clients that set a per-request level (federation-logging.integration.test.ts);
 * - tools-call-sampling, tools-call-elicitation, elicitation-sep1034-defaults, elicitation-sep1330-enums: the
 *   suite's client speaks the 2025 era, whose declared capabilities the stateless endpoint never sees (it answers
 *   the server an error instead); relaying to 2026-07-28 clients is tested in federation.integration.test.ts;
 * - server-sse-polling, server-sse-multiple-streams: they need a session's standalone GET stream, which a stateless
 *   endpoint does not have;
 * - dns-rebinding-protection: about the fixture's own HTTP server, not about federation (the gateway checks Host and
 *   Origin itself).
 */
const scenarios = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-error',
  'json-schema-2020-12',
  'tools-call-with-progress',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'prompts-list',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-embedded-resource',
  'prompts-get-with-image',
  'completion-complete',
];

const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const wav = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';
const none = { type: 'object', properties: {} };
const conformanceTools: FixtureTool[] = [
  {
    name: 'test_simple_text',
    description: 'Simple text',
    inputSchema: none,
    call: () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }),
  },
  {
    name: 'test_image_content',
    description: 'Image',
    inputSchema: none,
    call: () => ({ content: [{ type: 'image', data: png, mimeType: 'image/png' }] }),
  },
  {
    name: 'test_audio_content',
    description: 'Audio',
    inputSchema: none,
    call: () => ({ content: [{ type: 'audio', data: wav, mimeType: 'audio/wav' }] }),
  },
  {
    name: 'test_embedded_resource',
    description: 'Embedded resource',
    inputSchema: none,
    call: () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  },
  {
    name: 'test_multiple_content_types',
    description: 'Mixed content',
    inputSchema: none,
    call: () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: png, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: '{"test":"data","value":123}',
          },
        },
      ],
    }),
  },
  {
    name: 'test_error_handling',
    description: 'Always fails',
    inputSchema: none,
    call: () => ({
      isError: true,
      content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
    }),
  },
  {
    name: 'test_tool_with_progress',
    description: 'Reports progress',
    inputSchema: none,
    call: async (_args, request) => {
      for (const progress of [0, 50, 100]) {
        await request?.progress(progress, 100);
        if (progress < 100) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return { content: [{ type: 'text', text: 'Progress test completed' }] };
    },
  },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
    call: () => ({ content: [{ type: 'text', text: 'ok' }] }),
  },
];

/** The scenarios' resources and prompts, as their server requirements describe them. */
const conformanceFeatures: FixtureFeatures = {
  resources: [
    {
      uri: 'test://static-text',
      name: 'static-text',
      mimeType: 'text/plain',
      read: (uri) =>
        uri === 'test://static-text'
          ? [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }]
          : undefined,
    },
    {
      uri: 'test://static-binary',
      name: 'static-binary',
      mimeType: 'image/png',
      read: (uri) => (uri === 'test://static-binary' ? [{ uri, mimeType: 'image/png', blob: png }] : undefined),
    },
    {
      uriTemplate: 'test://template/{id}/data',
      name: 'template',
      mimeType: 'application/json',
      read: (uri) => {
        const id = /^test:\/\/template\/([^/]+)\/data$/.exec(uri)?.[1];
        return id === undefined
          ? undefined
          : [
              {
                uri,
                mimeType: 'application/json',
                text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
              },
            ];
      },
    },
  ],
  prompts: [
    {
      name: 'test_simple_prompt',
      description: 'A simple prompt',
      get: () => [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
    },
    {
      name: 'test_prompt_with_arguments',
      description: 'A prompt with arguments',
      arguments: [
        { name: 'arg1', description: 'First test argument', required: true },
        { name: 'arg2', description: 'Second test argument', required: true },
      ],
      get: (args) => [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${args['arg1']}', arg2='${args['arg2']}'` },
        },
      ],
    },
    {
      name: 'test_prompt_with_embedded_resource',
      description: 'A prompt with an embedded resource',
      arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
      get: (args) => [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: String(args['resourceUri']),
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    },
    {
      name: 'test_prompt_with_image',
      description: 'A prompt with an image',
      get: () => [
        { role: 'user', content: { type: 'image', data: png, mimeType: 'image/png' } },
        { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
      ],
    },
  ],
  // Completes `arg1` of test_prompt_with_arguments (the scenario asks for it with the value `test`).
  complete: ({ argument }) => ({
    values: ['test', 'testing', 'tested'].filter((value) => value.startsWith(argument.value)),
  }),
};

const clientKey = 'gatehouse_sk_conformance_agent_key_0123456789';
const conformanceBin = resolve(import.meta.dirname, '../../node_modules/.bin/conformance');
const run = promisify(execFile);

let fixture: LegacyMcpUpstream;
let gateway: TestGateway;
let proxy: Server;
let proxyUrl: string;
let outputDir: string;

beforeAll(async () => {
  // One page: the suite's own client does not follow `nextCursor`.
  fixture = await startLegacyMcpUpstream(conformanceTools, undefined, 100, conformanceFeatures);
  gateway = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'fixture', mcp: fixture.url }],
        toolsets: [
          {
            id: 'conformance',
            unprefixed: ['fixture'],
            access: 'write',
            approval: 'none',
            discovery: { mode: 'never' },
            results: { handles: { enabled: false } },
          },
        ],
        clientKeys: [{ name: 'suite', key: clientKey, toolsets: ['conformance'], subject: 'suite' }],
      },
    ],
  });
  const target = new URL(gateway.url);
  proxy = createServer((req, res) => {
    const forwarded = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: target.host, authorization: `Bearer ${clientKey}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  const address = proxy.address();
  proxyUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  outputDir = await mkdtemp(join(tmpdir(), 'gatehouse-federation-conformance-'));
}, 60_000);

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise<void>((done) => (proxy ? proxy.close(() => done()) : done()));
  await gateway?.close();
  await fixture?.close();
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

async function runScenario(url: string, scenario: string, label: string) {
  const out = join(outputDir, `${label}-${scenario}`);
  await run(conformanceBin, ['server', '--url', url, '--scenario', scenario, '-o', out], { timeout: 90_000 }).catch(
    () => undefined, // a failing scenario exits non-zero; the checks file says which check failed
  );
  const [runDir] = await readdir(out);
  return JSON.parse(await readFile(join(out, runDir as string, 'checks.json'), 'utf8')) as {
    id: string;
    status: string;
    errorMessage?: string;
  }[];
}

describe('MCP conformance suite through a federated server', () => {
  it.each(scenarios)(
    '%s passes directly and through the gateway',
    async (scenario) => {
      const direct = await runScenario(fixture.url, scenario, 'direct');
      expect(direct.length).toBeGreaterThan(0);
      expect(direct.filter((c) => c.status === 'FAILURE')).toEqual([]);
      const federated = await runScenario(`${proxyUrl}/mcp/acme/conformance`, scenario, 'federated');
      expect(federated.filter((c) => c.status === 'FAILURE')).toEqual([]);
    },
    180_000,
  );
});
