import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scriptable OAuth authorization server for the refresh engine's tests (what oidc-provider cannot be made to
 * do): refresh-token rotation, reuse detection that revokes the whole token family, delays longer than a lock
 * lease, 5xx/429/malformed/invalid_client answers, error bodies echoing the request, and counters.
 * `POST /token` takes the refresh_token grant; `GET /resource` answers 200 to a valid access token, else 401.
 */

/** One scripted answer, used for the next token request instead of the normal one. */
export interface ScriptedAnswer {
  readonly status?: number;
  /** Raw body (malformed answers); wins over `json`. */
  readonly body?: string;
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
  /** Waits this long before answering. */
  readonly delayMs?: number;
  /** Answers with an OAuth error body that echoes every received parameter (leak tests). */
  readonly echoParams?: boolean;
  /** Process the grant normally (rotate, count) but delay the answer by `delayMs`. */
  readonly processThenDelay?: boolean;
}

export interface FakeRefreshServerOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Issue a new refresh token on every refresh (default true). */
  readonly rotate?: boolean;
  /** A rotated-away refresh token presented again revokes its whole family (default true). */
  readonly reuseDetection?: boolean;
  /** Access-token lifetime in seconds (default 3,600); `null` sends no `expires_in`. */
  readonly expiresIn?: number | null;
  /** Delay of every normal answer in ms (default 0). */
  readonly delayMs?: number;
}

interface RefreshTokenState {
  readonly family: string;
  readonly generation: number;
  used: boolean;
  redemptions: number;
}

export interface FakeRefreshServer {
  readonly url: string;
  readonly tokenUrl: string;
  readonly resourceUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Token requests received (every one, whatever the answer). */
  readonly tokenRequests: () => number;
  /** Refresh tokens presented after they were rotated away. */
  readonly reuses: () => number;
  /** Successful redemptions per refresh token; each should be 1 at most. */
  readonly redemptions: () => ReadonlyMap<string, number>;
  /** The refresh tokens sent, in order. */
  readonly sentRefreshTokens: () => readonly string[];
  /** Resource requests answered 401. */
  readonly rejectedResourceCalls: () => number;
  /** Starts a token family as an authorization-code exchange would. */
  seed(): { accessToken: string; refreshToken: string; expiresIn: number | null };
  /** Queues answers for the next token requests. */
  script(...answers: ScriptedAnswer[]): void;
  /** Changes behaviour at run time. */
  configure(options: Partial<FakeRefreshServerOptions>): void;
  /** Makes the next `count` resource calls answer 401 whatever the token (OA-16). */
  rejectResource(count: number): void;
  /** Revokes a family (as a user revoking access would). */
  revokeFamilyOf(refreshToken: string): void;
  isFamilyRevoked(refreshToken: string): boolean;
  close(): Promise<void>;
}

/** The `auth` of a service whose OAuth app is the fake authorization server's client, asking for `scopes`. */
export function oauth2AuthOf(as: FakeRefreshServer, scopes: readonly string[]): Record<string, unknown> {
  return {
    type: 'oauth2',
    authorizationUrl: `${as.url}/authorize`,
    tokenUrl: as.tokenUrl,
    clientId: as.clientId,
    clientSecret: as.clientSecret,
    scopes: [...scopes],
  };
}

export async function startFakeRefreshServer(options: FakeRefreshServerOptions = {}): Promise<FakeRefreshServer> {
  const clientId = options.clientId ?? 'gatehouse-client';
  const clientSecret = options.clientSecret ?? 'client-secret-value';
  let settings = { rotate: true, reuseDetection: true, expiresIn: 3_600 as number | null, delayMs: 0, ...options };
  const refreshTokens = new Map<string, RefreshTokenState>();
  const accessTokens = new Map<string, { family: string; expiresAt: number }>();
  const revokedFamilies = new Set<string>();
  const queue: ScriptedAnswer[] = [];
  const sent: string[] = [];
  let tokenRequests = 0;
  let reuses = 0;
  let forcedResourceRejections = 0;
  let rejectedResourceCalls = 0;

  const token = (kind: string, family: string) => `${kind}-${family}-${randomBytes(6).toString('hex')}`;
  const issue = (family: string, generation: number, withRefresh: boolean) => {
    const accessToken = token('at', family);
    const lifetime = settings.expiresIn;
    accessTokens.set(accessToken, { family, expiresAt: lifetime === null ? Infinity : Date.now() + lifetime * 1000 });
    let refreshToken: string | undefined;
    if (withRefresh) {
      refreshToken = token('rt', family);
      refreshTokens.set(refreshToken, { family, generation, used: false, redemptions: 0 });
    }
    return { accessToken, refreshToken, expiresIn: lifetime };
  };

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(body);
  };

  function grant(params: URLSearchParams): { status: number; json: unknown } {
    const presented = params.get('refresh_token') ?? '';
    const state = refreshTokens.get(presented);
    if (state === undefined || revokedFamilies.has(state.family)) {
      return { status: 400, json: { error: 'invalid_grant', error_description: 'unknown or revoked refresh token' } };
    }
    if (state.used) {
      reuses++;
      if (settings.reuseDetection) revokedFamilies.add(state.family);
      return { status: 400, json: { error: 'invalid_grant', error_description: 'refresh token reused' } };
    }
    state.redemptions++;
    if (settings.rotate) state.used = true;
    const issued = issue(state.family, state.generation + 1, settings.rotate);
    return {
      status: 200,
      json: {
        access_token: issued.accessToken,
        token_type: 'Bearer',
        ...(issued.expiresIn === null ? {} : { expires_in: issued.expiresIn }),
        ...(issued.refreshToken === undefined ? {} : { refresh_token: issued.refreshToken }),
        scope: 'read write',
      },
    };
  }

  function authenticates(req: IncomingMessage, params: URLSearchParams): boolean {
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      return decodeURIComponent(id ?? '') === clientId && decodeURIComponent(secret ?? '') === clientSecret;
    }
    return params.get('client_id') === clientId && params.get('client_secret') === clientSecret;
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/resource') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const known = bearer === undefined ? undefined : accessTokens.get(bearer);
      if (
        forcedResourceRejections > 0 ||
        !known ||
        known.expiresAt <= Date.now() ||
        revokedFamilies.has(known.family)
      ) {
        if (forcedResourceRejections > 0) forcedResourceRejections--;
        rejectedResourceCalls++;
        send(res, 401, JSON.stringify({ error: 'invalid_token' }), {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
        return;
      }
      send(res, 200, JSON.stringify({ ok: true, family: known.family }));
      return;
    }
    if (url.pathname !== '/token' || req.method !== 'POST') {
      send(res, 404, '{}');
      return;
    }
    tokenRequests++;
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const presented = params.get('refresh_token');
    if (presented !== null) sent.push(presented);
    const scripted = queue.shift();
    if (scripted !== undefined && !scripted.processThenDelay) {
      if (scripted.delayMs) await sleep(scripted.delayMs);
      const body = scripted.echoParams
        ? JSON.stringify({ error: 'invalid_request', error_description: `received ${params.toString()}` })
        : (scripted.body ?? JSON.stringify(scripted.json ?? { error: 'server_error' }));
      send(res, scripted.status ?? 500, body, scripted.headers);
      return;
    }
    if (!authenticates(req, params)) {
      send(res, 401, JSON.stringify({ error: 'invalid_client' }), { 'www-authenticate': 'Basic realm="token"' });
      return;
    }
    if (params.get('grant_type') !== 'refresh_token') {
      send(res, 400, JSON.stringify({ error: 'unsupported_grant_type' }));
      return;
    }
    // The grant is processed on arrival (like a real server): a delayed answer has already rotated the token.
    const answer = grant(params);
    const delay = scripted?.delayMs ?? settings.delayMs;
    if (delay > 0) await sleep(delay);
    send(res, answer.status, JSON.stringify(answer.json));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let families = 0;

  return {
    url,
    tokenUrl: `${url}/token`,
    resourceUrl: `${url}/resource`,
    clientId,
    clientSecret,
    tokenRequests: () => tokenRequests,
    reuses: () => reuses,
    redemptions: () => new Map([...refreshTokens].map(([rt, state]) => [rt, state.redemptions])),
    sentRefreshTokens: () => sent,
    rejectedResourceCalls: () => rejectedResourceCalls,
    seed() {
      const issued = issue(`f${++families}`, 0, true);
      return {
        accessToken: issued.accessToken,
        refreshToken: issued.refreshToken as string,
        expiresIn: issued.expiresIn,
      };
    },
    script: (...answers) => {
      queue.push(...answers);
    },
    configure(changes) {
      settings = { ...settings, ...changes };
    },
    rejectResource(count) {
      forcedResourceRejections = count;
    },
    revokeFamilyOf(refreshToken) {
      const state = refreshTokens.get(refreshToken);
      if (state) revokedFamilies.add(state.family);
    },
    isFamilyRevoked: (refreshToken) => {
      const state = refreshTokens.get(refreshToken);
      return state !== undefined && revokedFamilies.has(state.family);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
