import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, systemClock } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';
import { connectThroughGateway } from '../support/connect-through-gateway.ts';
import { type FakeApi, type ReceivedRequest, startFakeApi } from '../support/start-fake-api.ts';
import {
  type AuthorizationServerRequest,
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { type Canary, type CanaryFinding, createCanaries, findCanaries } from './find-canaries.ts';

/**
 * LG-01: every secret the gateway holds is a canary; every sink is captured and searched for every canary in every
 * encoding (find-canaries.ts). MC-10: the upstream echoes the request's headers and body and re-encodes the
 * credential it received. The test fails naming the sink and the encoding of each finding.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const description = fileURLToPath(new URL('./canary-api.openapi.yaml', import.meta.url));
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
const c = createCanaries();
const gatewaySecrets = {
  adminToken: `adm_${randomBytes(24).toString('base64url')}`,
  metricsToken: `met_${randomBytes(24).toString('base64url')}`,
  masterKey: randomBytes(32).toString('base64'),
  clientKey: `gatehouse_sk_${randomBytes(24).toString('base64url')}`,
  webhookSecret: `whs_${randomBytes(24).toString('base64url')}`,
};
const canaries: Canary[] = [
  ...Object.entries(c).map(([name, value]) => ({ name, value, windows: true })),
  { name: 'adminToken', value: gatewaySecrets.adminToken, windows: true },
  { name: 'metricsToken', value: gatewaySecrets.metricsToken, windows: true },
  { name: 'masterKey', value: gatewaySecrets.masterKey, windows: true },
  { name: 'webhookSecret', value: gatewaySecrets.webhookSecret, windows: true },
  // The first 16 characters of a client key are shown to operators by design (the key's prefix).
  { name: 'clientKey', value: gatewaySecrets.clientKey, windows: false },
];

/**
 * OAuth: the authorization server's client secret is a canary, and every access and refresh token it issues is a
 * fresh canary (shapes in turn), added to `canaries` as it is issued.
 */
const oauthClientSecret = `ocs${createCanaries().everything}`;
canaries.push({ name: 'oauthClientSecret', value: oauthClientSecret, windows: true });
const oauthShapes = ['jwt', 'symbols', 'github', 'everything', 'quoted', 'slack', 'plain'] as const;
const oauthIssued: string[] = [];
const oauthGrants: string[] = [];
let oauthEchoNextRefresh = false;

function issueOAuthCanary(kind: string): string {
  const value = createCanaries()[oauthShapes[oauthIssued.length % oauthShapes.length] ?? 'plain'];
  oauthIssued.push(value);
  canaries.push({ name: `oauth ${kind} #${oauthIssued.length}`, value, windows: true });
  return value;
}

/** The client secret the token endpoint received (Basic, form-urlencoded inside, or in the body). */
function clientSecretOf(request: AuthorizationServerRequest): string | undefined {
  const authorization = request.headers.authorization ?? '';
  if (!authorization.startsWith('Basic ')) return request.form.get('client_secret') ?? undefined;
  const pair = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
  return decodeURIComponent(pair.slice(pair.indexOf(':') + 1).replace(/\+/g, ' '));
}

function handleCanaryToken(request: AuthorizationServerRequest, res: ServerResponse): void {
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(value));
  };
  const grant = request.form.get('grant_type') ?? '';
  oauthGrants.push(grant);
  if (clientSecretOf(request) !== oauthClientSecret) {
    json(401, { error: 'invalid_client' });
    return;
  }
  if (grant === 'refresh_token' && oauthEchoNextRefresh) {
    oauthEchoNextRefresh = false;
    // An error body echoing the whole request: the refresh token and the client secret come back to the gateway.
    json(400, {
      error: 'invalid_request',
      error_description: `bad request ${request.form.toString()} with ${request.headers.authorization ?? ''}`,
      refresh_token: request.form.get('refresh_token'),
    });
    return;
  }
  json(200, {
    access_token: issueOAuthCanary('access token'),
    refresh_token: issueOAuthCanary('refresh token'),
    token_type: 'Bearer',
    // The first token is due for refresh at once (inside the 60 s margin): the first call rotates it.
    expires_in: grant === 'authorization_code' ? 30 : 3600,
  });
}

const serviceIds = ['plain', 'query', 'github', 'jwt', 'basic', 'quoted', 'every', 'slow'] as const;
const operations = ['getEcho', 'postEcho', 'getEncoded', 'getText', 'getFail500', 'getFail401', 'getRedirect'];

function configFor(apiUrl: string, dataDir: string, webhookUrl: string, asUrl: string): Record<string, unknown> {
  const service = (id: string, auth: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    id,
    openapi: description,
    baseUrl: `${apiUrl}/v1`,
    auth,
    ...extra,
  });
  return {
    listen: '127.0.0.1:0',
    dataDir,
    logLevel: 'trace',
    masterKey: gatewaySecrets.masterKey,
    adminToken: gatewaySecrets.adminToken,
    metricsToken: gatewaySecrets.metricsToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    ...(redisUrl ? { redis: redisUrl } : {}),
    alerts: {
      webhookUrl,
      webhookSecret: gatewaySecrets.webhookSecret,
      evaluateEverySeconds: 0.2,
      dedupSeconds: 60,
      upstreamErrors: 2,
      denials: 2,
      retries: 0,
    },
    tenants: [
      {
        id: 'canary',
        services: [
          service('plain', { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: c.plain }),
          service('query', { type: 'apiKey', in: 'query', name: 'api_key', value: c.symbols }),
          service('github', { type: 'bearer', token: c.github }),
          service('jwt', { type: 'bearer', token: c.jwt }),
          service('basic', { type: 'basic', username: 'svc', password: c.slack }),
          service('quoted', { type: 'apiKey', in: 'header', name: 'X-Secret', value: c.quoted }),
          service('every', { type: 'apiKey', in: 'header', name: 'X-Api-Key', value: c.everything }),
          service('slow', { type: 'bearer', token: c.slow }, { timeoutSeconds: 0.3 }),
          service('oauth', {
            type: 'oauth2',
            issuer: asUrl,
            clientId: 'canary-client',
            clientSecret: oauthClientSecret,
          }),
        ],
        toolsets: [
          { id: 'all', tools: ['*'], access: 'write', approval: 'none' },
          { id: 'reader', tools: ['*'], access: 'read' },
          { id: 'guarded', tools: ['*'], access: 'write', approval: 'destructive' },
          { id: 'limited', tools: ['plain_*'], access: 'read', rateLimit: { perMinute: 1, burst: 1 } },
          { id: 'pages', tools: ['*_list*'], access: 'read', results: { autoPaginate: { maxPages: 3 } } },
          { id: 'cached', tools: ['*_list*'], access: 'read', results: { cache: { ttlSeconds: 600 } } },
        ],
        clientKeys: [
          {
            name: 'agent',
            key: gatewaySecrets.clientKey,
            toolsets: ['all', 'reader', 'guarded', 'limited', 'pages', 'cached'],
          },
        ],
      },
    ],
  };
}

/** The credential the canary API received, whatever the scheme. */
function credentialOf(request: ReceivedRequest): string {
  const authorization = request.headers.authorization ?? '';
  if (authorization.startsWith('Basic ')) {
    return Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
  }
  if (authorization.startsWith('Bearer ')) return authorization.slice(7);
  const header = request.headers['x-api-key'] ?? request.headers['x-secret'];
  if (typeof header === 'string') return header;
  return request.query.get('api_key') ?? '';
}

function handleCanaryApi(request: ReceivedRequest, res: ServerResponse): void | Promise<void> {
  const echo = { method: request.method, url: request.url, headers: request.headers, body: request.body };
  const json = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
  };
  const secret = credentialOf(request);
  switch (request.path) {
    case '/v1/echo':
      return json(200, echo);
    case '/v1/encoded':
      return json(200, {
        base64: Buffer.from(secret).toString('base64'),
        base64At1: Buffer.from(`x${secret}`).toString('base64'),
        base64urlAt2: Buffer.from(`xy${secret}`).toString('base64url'),
        hex: Buffer.from(secret).toString('hex'),
        url: encodeURIComponent(secret),
        form: new URLSearchParams({ token: secret }).toString(),
        jsonInJson: JSON.stringify(JSON.stringify({ token: secret })),
        basic: `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`,
        twice: `token=${secret} and again ${secret}`,
      });
    case '/v1/text':
      res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify(request.headers, null, 2));
      return;
    case '/v1/fail500':
      return json(500, { error: 'server exploded', request: echo });
    case '/v1/fail401':
      res
        .writeHead(401, {
          'content-type': 'text/plain',
          'www-authenticate': `Bearer error="invalid_token", token_hint="${encodeURIComponent(secret)}"`,
        })
        .end(`invalid credential ${secret} (${request.headers.authorization ?? ''})`);
      return;
    case '/v1/redirect':
      res.writeHead(302, { location: `/v1/echo?note=${encodeURIComponent(secret)}` }).end();
      return;
    case '/v1/slow':
      return new Promise<void>((resolve) => setTimeout(resolve, 1_500)).then(() => json(200, echo));
    case '/v1/items':
      return json(200, { items: [] });
    case '/v1/pages/link':
    case '/v1/pages/cursor':
    case '/v1/pages/url':
      return json(...paginatedAnswer(request, secret));
    default:
      if (request.path.startsWith('/v1/echo/')) {
        res.writeHead(204).end();
        return;
      }
      return json(404, { error: 'no route', request: echo });
  }
}

/**
 * RS-01: three pages of a list in each pagination mode. Every item echoes the credential (merged pages), and the way
 * to the next page carries it: a `Link` header whose next URL has `api_key=<secret>` and `token=Bearer <secret>`
 * (URL-encoded); a `next_cursor` that is base64 of `page=2&auth=<secret>` (then base64url of a URL-encoded one); a
 * next URL in the body (`meta.next`) with `api_key=<secret>`.
 */
function paginatedAnswer(request: ReceivedRequest, secret: string): [number, unknown, Record<string, string>] {
  const origin = `http://${request.headers.host ?? ''}`;
  const cursor = request.query.get('cursor');
  const page =
    cursor === null
      ? Number(request.query.get('page') ?? '1')
      : Number(new URLSearchParams(Buffer.from(cursor, 'base64').toString('utf8')).get('page') ?? '1');
  const items = [
    { id: page * 2 - 1, auth: secret, note: `Bearer ${secret}` },
    { id: page * 2, auth: secret },
  ];
  const last = page >= 3;
  const key = encodeURIComponent(secret);
  switch (request.path) {
    case '/v1/pages/link': {
      const next = `<${origin}/v1/pages/link?page=${page + 1}&api_key=${key}&token=${encodeURIComponent(`Bearer ${secret}`)}>; rel="next"`;
      return [200, { items }, last ? {} : { link: next }];
    }
    case '/v1/pages/cursor': {
      const next =
        page === 1
          ? Buffer.from(`page=2&auth=${secret}`).toString('base64')
          : Buffer.from(`page=3&auth=${key}`).toString('base64url');
      // `resume`: the same kind of cursor over the URL-encoded and the JSON-escaped secret, in the body text only.
      const resume = [
        Buffer.from(`page=${page + 1}&auth=${key}`).toString('base64url'),
        Buffer.from(JSON.stringify({ page: page + 1, auth: secret })).toString('base64'),
      ];
      return [200, last ? { items, has_more: false } : { items, resume, next_cursor: next }, {}];
    }
    default:
      return [
        200,
        last ? { items } : { items, meta: { next: `${origin}/v1/pages/url?page=${page + 1}&api_key=${key}` } },
        {},
      ];
  }
}

const paginatedOperations = ['listLinked', 'listCursored', 'listNextUrl'] as const;

/**
 * RS-01: every pagination mode for one service: a plain call and a call following its `_nextPage` (the model
 * paging by hand, Link header and body cursors), auto-pagination (`pages`: merged pages), and the same read twice
 * through the cache (`cached`: the second answer and its hint come from the cache entry).
 */
async function drivePaginationTraffic(url: string, service: string): Promise<string[]> {
  const bodies: string[] = [];
  const record = async (toolset: string, name: string, args: Record<string, unknown>) => {
    const { status, text } = await mcpCall(url, toolset, name, args);
    bodies.push(`${status} ${toolset} ${name} ${text}`);
    return text;
  };
  for (const operation of paginatedOperations) {
    const name = `${service}_${operation}`;
    const first = await record('all', name, {});
    const next = nextPageOf(first);
    if (next !== undefined) await record('all', name, next);
    await record('pages', name, {});
    await record('cached', name, {});
    await record('cached', name, {});
  }
  return bodies;
}

function nextPageOf(text: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(text) as { result?: { structuredContent?: { _nextPage?: Record<string, unknown> } } };
    return parsed.result?.structuredContent?._nextPage;
  } catch {
    return undefined;
  }
}

interface Sink {
  readonly name: string;
  readonly text: string;
}

const sinks: Sink[] = [];
const logLines: string[] = [];
const webhookBodies: string[] = [];
let api: FakeApi;
let as: ScriptedAuthorizationServer;
let webhook: Server;
let webhookUrl: string;
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-canary-'));
  tempDirs.push(dir);
  return dir;
}

async function mcpCall(url: string, toolset: string, name: string, args: unknown, key = gatewaySecrets.clientKey) {
  const response = await fetch(`${url}/mcp/canary/${toolset}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  return { status: response.status, text: await response.text() };
}

async function driveTraffic(url: string, label: string): Promise<string[]> {
  const bodies: string[] = [];
  const record = async (promise: Promise<{ status: number; text: string }>) => {
    const { status, text } = await promise;
    bodies.push(`${status} ${text}`);
    return text;
  };
  for (const service of serviceIds) {
    if (service === 'slow') {
      await record(mcpCall(url, 'all', 'slow_getSlow', {}));
      await record(mcpCall(url, 'all', 'slow_getEcho', {}));
      continue;
    }
    for (const operation of operations) {
      const args = operation === 'postEcho' ? { body: { text: 'hello' } } : {};
      await record(mcpCall(url, 'all', `${service}_${operation}`, args));
    }
    await record(mcpCall(url, 'all', `${service}_listItems`, { limit: 99 }));
    await record(mcpCall(url, 'reader', `${service}_deleteEcho`, { id: 'x' }));
    await record(mcpCall(url, 'guarded', `${service}_deleteEcho`, { id: 'y' }));
    await record(mcpCall(url, 'all', `${service}_deleteEcho`, { id: 'z' }));
  }
  for (let i = 0; i < 3; i++) await record(mcpCall(url, 'limited', 'plain_getEcho', {}));
  await record(mcpCall(url, 'all', 'no_such_tool', {}));
  await record(mcpCall(url, 'all', 'plain_getEcho', {}, `${gatewaySecrets.clientKey}x`));
  await record(mcpCall(url, 'nope', 'plain_getEcho', {}));
  const raw = await fetch(`${url}/mcp/canary/all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gatewaySecrets.clientKey}`, 'content-type': 'application/json' },
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":',
  });
  bodies.push(`${raw.status} ${await raw.text()} (${label})`);
  return bodies;
}

/**
 * OAuth traffic: a connection through the connect flow (authorization_code with the canary client secret), calls
 * with the bearer token against the echoing upstream, a proactive refresh rotating to new canary tokens, a 401 that
 * forces a refresh (whose retry is refused again), and last a refresh whose error body echoes the refresh token and
 * the client secret.
 */
async function driveOAuthTraffic(url: string): Promise<string[]> {
  const connected = await connectThroughGateway(url, gatewaySecrets.adminToken, {
    tenant: 'canary',
    service: 'oauth',
    subject: 'shared',
  });
  const bodies = [`connect ${connected.status} ${connected.body}`];
  const record = async (name: string, args: unknown = {}) => {
    const { status, text } = await mcpCall(url, 'all', name, args);
    bodies.push(`${status} ${text}`);
  };
  for (const operation of operations.filter((o) => o !== 'getFail401')) {
    await record(`oauth_${operation}`, operation === 'postEcho' ? { body: { text: 'hello' } } : {});
  }
  await record('oauth_getFail401');
  await record('oauth_getEcho');
  oauthEchoNextRefresh = true;
  await record('oauth_getFail401');
  await record('oauth_getEcho');
  return bodies;
}

async function readAdminApi(url: string): Promise<string[]> {
  const headers = { authorization: `Bearer ${gatewaySecrets.adminToken}` };
  const description = (await (await fetch(`${url}/api/v1/openapi.json`, { headers })).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const bodies: string[] = [JSON.stringify(description)];
  for (const [path, methods] of Object.entries(description.paths)) {
    if (!('get' in methods)) continue;
    const concrete = path
      .replace(/^\/api\/v1/, '')
      .replace('{tenant}', 'canary')
      .replace('{key}', 'config-agent')
      .replace(/\{[^}]+\}/g, 'x');
    const response = await fetch(`${url}/api/v1${concrete}`, { headers });
    bodies.push(`GET ${concrete} ${response.status} ${await response.text()}`);
  }
  return bodies;
}

function readStoreFiles(dataDir: string): string {
  return ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm']
    .map((f) => join(dataDir, f))
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

async function readRedis(): Promise<string> {
  if (!redisUrl) return '';
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const parts: string[] = [];
  try {
    let cursor = '0';
    let seen = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        if (++seen > 20_000) break;
        parts.push(key);
        const type = await redis.type(key);
        if (type === 'string') parts.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
        else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
        else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')));
      }
    } while (cursor !== '0' && seen <= 20_000);
  } finally {
    redis.disconnect();
  }
  return parts.join('\n');
}

async function runChildGateway(): Promise<{ stdout: string; stderr: string; dataDir: string; bodies: string[] }> {
  const dataDir = tempDir();
  const configPath = join(dataDir, 'gatehouse.yaml');
  writeFileSync(configPath, JSON.stringify(configFor(api.url, dataDir, webhookUrl, as.url)));
  const child: ChildProcess = spawn(process.execPath, ['bin/gatehouse.js', 'serve', '--config', configPath], {
    cwd: repoRoot,
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'trace', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const bodies: string[] = [];
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child gateway did not start:\n${stdout}\n${stderr}`)), 60_000);
      const check = () => {
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', check);
      child.once('exit', () => reject(new Error(`child gateway exited:\n${stdout}\n${stderr}`)));
    });
    for (const service of ['plain', 'basic', 'quoted', 'query'] as const) {
      for (const operation of ['getEcho', 'getEncoded', 'getFail500', 'getFail401']) {
        const { status, text } = await mcpCall(url, 'all', `${service}_${operation}`, {});
        bodies.push(`${status} ${text}`);
      }
    }
    // Kill it mid-traffic: calls in flight, a slow upstream pending.
    const inFlight = Array.from({ length: 12 }, (_, i) =>
      mcpCall(url, 'all', i % 2 === 0 ? 'slow_getSlow' : 'every_getEcho', {}).then(
        (r) => bodies.push(`${r.status} ${r.text}`),
        () => undefined,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 40));
    child.kill('SIGKILL');
    await Promise.all(inFlight);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  return { stdout, stderr, dataDir, bodies };
}

beforeAll(async () => {
  api = await startFakeApi();
  api.handle(handleCanaryApi);
  as = await startScriptedAuthorizationServer();
  as.onToken(handleCanaryToken);
  webhook = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    webhookBodies.push(`${JSON.stringify(req.headers)}\n${Buffer.concat(chunks).toString('utf8')}`);
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;

  // 1. The gateway in this process, logs at trace level captured line by line.
  const dataDir = tempDir();
  const config = parseConfig(configFor(api.url, dataDir, webhookUrl, as.url), { env: {}, baseDir: repoRoot });
  const stderrLines: string[] = [];
  const adapters = await openAdapters(config, {
    stderr: { write: (line: string) => stderrLines.push(line) } as unknown as NodeJS.WritableStream,
  });
  const server = await startGatehouse(config, adapters, systemClock, {
    logDestination: { write: (line: string) => logLines.push(line) },
  });
  try {
    const bodies = await driveTraffic(server.url, 'in-process');
    const oauthBodies = await driveOAuthTraffic(server.url);
    const pageBodies: string[] = [];
    for (const service of [...serviceIds.filter((s) => s !== 'slow'), 'oauth']) {
      pageBodies.push(...(await drivePaginationTraffic(server.url, service)));
    }
    if (process.env['CANARY_DEBUG']) console.log(oauthBodies.join('\n'), oauthGrants, pageBodies.join('\n'));
    const client = new Client({ name: 'canary', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp/canary/all`), {
        requestInit: { headers: { Authorization: `Bearer ${gatewaySecrets.clientKey}` } },
      }),
    );
    const sdkResults: unknown[] = [await client.listTools()];
    for (const name of ['basic_getEcho', 'jwt_getEncoded', 'quoted_getFail500', 'query_getText']) {
      sdkResults.push(await client.callTool({ name, arguments: {} }).catch((error: unknown) => String(error)));
    }
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 600)); // one alert evaluation, webhook delivery
    sinks.push({ name: 'MCP responses (raw HTTP, in-process)', text: bodies.join('\n') });
    sinks.push({ name: 'MCP responses and connect pages (OAuth, in-process)', text: oauthBodies.join('\n') });
    sinks.push({ name: 'MCP responses (pagination, in-process)', text: pageBodies.join('\n') });
    sinks.push({ name: 'MCP results (SDK client)', text: JSON.stringify(sdkResults) });
    sinks.push({ name: 'admin API bodies', text: (await readAdminApi(server.url)).join('\n') });
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${gatewaySecrets.metricsToken}` },
    });
    sinks.push({ name: '/metrics', text: `${metrics.status}\n${await metrics.text()}` });
    const audit = await adapters.store.audit.query({ tenantId: 'canary', limit: 10_000 });
    sinks.push({ name: 'audit rows', text: JSON.stringify(audit) });
    sinks.push({ name: 'warnings of openAdapters', text: stderrLines.join('') });
  } finally {
    await server.close();
    await adapters.close();
  }
  sinks.push({ name: 'log lines (in-process, trace)', text: logLines.join('') });
  sinks.push({ name: 'SQLite files (in-process)', text: readStoreFiles(dataDir) });

  // 2. A child `gatehouse serve` process, killed with SIGKILL mid-traffic.
  const child = await runChildGateway();
  sinks.push({ name: 'child stdout (logs, crash)', text: child.stdout });
  sinks.push({ name: 'child stderr (crash)', text: child.stderr });
  sinks.push({ name: 'MCP responses (child)', text: child.bodies.join('\n') });
  sinks.push({ name: 'SQLite files (child)', text: readStoreFiles(child.dataDir) });
  sinks.push({ name: 'alert webhook bodies', text: webhookBodies.join('\n') });
  if (redisUrl) sinks.push({ name: 'Redis keys and values', text: await readRedis() });
}, 180_000);

afterAll(async () => {
  await api?.close();
  await as?.close();
  await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('canary harness', () => {
  it('drove every kind of call and captured every sink (the search below is not vacuous)', () => {
    const credentials = new Set(api.received.map(credentialOf));
    for (const value of [c.plain, c.symbols, c.github, c.jwt, c.slack, c.quoted, c.everything, c.slow]) {
      expect(credentials.has(value), 'each canary reached the upstream').toBe(true);
    }
    const text = (name: string) => sinks.find((s) => s.name === name)?.text ?? '';
    const responses = text('MCP responses (raw HTTP, in-process)');
    for (const code of [
      'upstream_error',
      'upstream_timeout',
      'invalid_arguments',
      'access_mode_denied',
      'approval_required',
      'rate_limited',
    ]) {
      expect(responses, code).toContain(`"${code}"`);
    }
    expect(responses).toContain('[REDACTED]');
    expect(text('log lines (in-process, trace)')).toContain('upstream request');
    expect(text('log lines (in-process, trace)')).toContain('[REDACTED]');
    expect(text('/metrics')).toMatch(/^200\n# HELP/);
    expect(text('audit rows').length).toBeGreaterThan(1_000);
    expect(text('child stdout (logs, crash)')).toContain('"msg":"request"');
    expect(text('alert webhook bodies')).toContain('gatehouse.alert');
    // OAuth: connected, refreshed proactively, forced by a 401, and the echoing refresh failure happened; the
    // upstream received issued access tokens as bearer credentials.
    const oauth = text('MCP responses and connect pages (OAuth, in-process)');
    expect(oauth).toMatch(/^connect 200 /);
    expect(oauth).toContain('"upstream_unauthorized"');
    expect(oauthGrants.filter((g) => g === 'authorization_code')).toHaveLength(1);
    expect(oauthGrants.filter((g) => g === 'refresh_token').length).toBeGreaterThanOrEqual(3);
    const bearers = new Set(api.received.map((r) => r.headers.authorization?.slice(7)));
    // The first access token was due at once and rotated before use; the proactive and the forced refresh's ones
    // were sent.
    expect([0, 2, 4].map((i) => bearers.has(oauthIssued[i]))).toEqual([false, true, true]);
  });

  it('LG-01 no canary appears in any sink, raw or encoded', () => {
    const findings: CanaryFinding[] = sinks.flatMap((sink) => findCanaries(sink.name, sink.text, canaries));
    const report = findings.map((f) => `  ${f.canary} in ${f.sink} as ${f.encoding}: …${f.context}…`).join('\n');
    expect(findings, `canaries leaked:\n${report}`).toEqual([]);
  });

  it('RS-01 LG-01 (review finding 2) every pagination mode ran for every credential type (the search is not vacuous)', async () => {
    const paged = sinks.find((s) => s.name === 'MCP responses (pagination, in-process)')?.text ?? '';
    for (const service of [...serviceIds.filter((s) => s !== 'slow'), 'oauth']) {
      for (const operation of paginatedOperations) {
        const name = `${service}_${operation}`;
        for (const toolset of ['all', 'pages', 'cached']) expect(paged).toContain(`200 ${toolset} ${name} {`);
      }
      // The Link header and the body URL were followed (auto-pagination or the model's second call): page 2 and 3
      // reached the upstream with this service's credential.
      const followed = api.received.filter((r) => r.path !== '/v1/pages/cursor' && r.query.get('page') === '3');
      expect(followed.length).toBeGreaterThan(0);
    }
    // The second read of each cached list came from the cache: the hint on it was built from the cache entry.
    const audit = sinks.find((s) => s.name === 'audit rows')?.text ?? '';
    expect(audit.match(/"detail":"cached"/g)?.length ?? 0).toBeGreaterThanOrEqual(24);
  });

  it('MC-10 an upstream echoing headers and body back gives a tool result without the credential', () => {
    const responses = sinks.find((s) => s.name === 'MCP responses (raw HTTP, in-process)')?.text ?? '';
    const echoed = responses.split('\n').filter((line) => line.includes('_getEcho') || line.includes('x-api-key'));
    expect(echoed.length).toBeGreaterThan(0);
    expect(findCanaries('echo results', responses, canaries)).toEqual([]);
  });
});
