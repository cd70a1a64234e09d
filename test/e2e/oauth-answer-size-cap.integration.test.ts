import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRefreshRequest } from '../../src/oauth/index.ts';
import { connectThroughGateway } from '../support/connect-through-gateway.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Finding (breaker 11, "unbounded OAuth token and discovery answers exhaust memory"): the answers of a provider's
 * token endpoint and of post-connect discovery (Atlassian's accessible-resources, Xero's connections) were read
 * whole with `response.json()`: a 48 MB answer of `{}` objects was accepted as a valid connect and grew the shared
 * gateway process by about 1.4 GB. Each answer is now read through one bounded reader (1 MiB); here answers a few
 * MB over that cap must fail the connect, naming the reason and no secret.
 */
const adminToken = 'admin-token-answer-size-cap-0123456789';
const cloudId = '11111111-2222-4333-8444-555555555555';
const megabytes = 3;
/** A valid site list: one real site, then `{}` filler up to `megabytes`. */
const hugeSiteList = () =>
  `[{"id":"${cloudId}","scopes":["read:jira-work"]}${',{}'.repeat((megabytes * 1024 * 1024) / 3)}]`;

let as: ScriptedAuthorizationServer;
let upstream: FakeApi;
let gateway: TestGateway;
let huge = '';
let tokenPadding = '';

beforeAll(async () => {
  huge = hugeSiteList();
  as = await startScriptedAuthorizationServer();
  upstream = await startFakeApi();
  let issued = 0;
  as.onToken((_request, res) => {
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      `{"access_token":"at-${issued}-${'t'.repeat(24)}","token_type":"Bearer","expires_in":3600,"filler":[${tokenPadding}]}`,
    );
  });
  upstream.handle((request, res) => {
    if (request.path === '/oauth/token/accessible-resources') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(huge);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const endpoints = { authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token` };
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [
          {
            provider: 'jira',
            clientId: 'atlassian-client',
            clientSecret: 'atlassian-client-secret-0123',
            scopes: ['read:jira-work', 'read:jira-user', 'offline_access'],
            baseUrl: `${upstream.url}/ex/jira/{cloudId}/rest/api/3`,
            auth: { ...endpoints, accessibleResourcesUrl: `${upstream.url}/oauth/token/accessible-resources` },
          },
          {
            provider: 'github',
            clientId: 'github-client',
            clientSecret: 'github-client-secret-0123',
            baseUrl: `${upstream.url}/github`,
            auth: endpoints,
          },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await as?.close();
});

describe('oauth answer size cap: token and discovery answers are bounded', () => {
  it(`refuses a ${megabytes} MB accessible-resources answer instead of parsing it whole`, async () => {
    const before = process.memoryUsage().rss;
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'jira',
      subject: 'ada',
      code: 'ada',
    });
    console.log(
      `accessible-resources ${megabytes} MB: connect ${connected.status}, rss +${Math.round((process.memoryUsage().rss - before) / 2 ** 20)} MB`,
    );
    expect(connected.status, 'a connect whose discovery answer is over the cap must fail').not.toBe(200);
    expect(connected.body).toContain(
      'The accessible-resources request (Atlassian) answer is larger than 1048576 bytes',
    );
    expect(connected.body).not.toContain('at-1-');
  }, 120_000);

  it(`refuses a ${megabytes} MB token response instead of parsing it whole`, async () => {
    tokenPadding = '{},'.repeat((megabytes * 1024 * 1024) / 3) + '{}';
    const before = process.memoryUsage().rss;
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service: 'github',
      subject: 'ada',
      code: 'ada',
    });
    console.log(
      `token ${megabytes} MB: connect ${connected.status}, rss +${Math.round((process.memoryUsage().rss - before) / 2 ** 20)} MB`,
    );
    expect(connected.status, 'a token response over the cap must fail the connect').not.toBe(200);
    expect(connected.body).toContain('The authorization server answer is larger than 1048576 bytes');
    expect(connected.body).not.toContain('github-client-secret');
  }, 120_000);
});

describe('oauth answer size cap: refresh answers are bounded', () => {
  /** A token endpoint answering `megabytes` of JSON, chunked (no Content-Length) or declared up front. */
  async function startHugeTokenEndpoint(declareLength: boolean) {
    const body = `{"access_token":"at-refresh","token_type":"Bearer","filler":[${'{},'.repeat((megabytes * 1024 * 1024) / 3)}{}]}`;
    const server = createServer((_request, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(declareLength ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      url: `http://127.0.0.1:${port}/token`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  for (const declareLength of [false, true]) {
    it(`a ${megabytes} MB refresh answer ${declareLength ? 'declared by Content-Length' : 'streamed'} is a malformed answer, not tokens`, async () => {
      const endpoint = await startHugeTokenEndpoint(declareLength);
      try {
        const outcome = await sendRefreshRequest(
          { tokenUrl: endpoint.url, clientId: 'c', clientSecret: 'refresh-client-secret-0123', unsafeAllowHttp: true },
          'refresh-token-0123',
          AbortSignal.timeout(10_000),
        );
        expect(outcome).toEqual({ kind: 'failed', reason: 'malformed', status: 200 });
      } finally {
        await endpoint.close();
      }
    });
  }
});
