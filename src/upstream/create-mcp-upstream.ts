import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  Client,
  type FetchLike,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { Agent } from 'undici';
import { z } from 'zod';
import { createScrubber } from '../audit/index.ts';
import {
  disableStorageWhenIdle,
  GatehouseError,
  isGatehouseError,
  readBearerChallenge,
  splitScopes,
} from '../core/index.ts';
import { applyCredential, listCredentialSecrets, type UpstreamCredential } from './apply-credential.ts';
import { createAddressGuard, createGuardedConnector, type ResolveHost } from './create-address-guard.ts';
import {
  createReconnectionScheduler,
  maxReconnectionDelayMs,
  type SessionReconnections,
} from './create-reconnection-scheduler.ts';
import { fetchWithDispatcher } from './fetch-with-dispatcher.ts';
import {
  meterAnswerStream,
  meterNotificationStream,
  type NotificationVolume,
  type StreamMeter,
} from './meter-event-stream.ts';
import type { AnswerBytes, ResponseCap } from './read-capped.ts';
import {
  createDirectCalls,
  type DirectCallHooks,
  type DirectSession,
  redirected,
  sendDirectToolCall,
} from './send-direct-tool-call.ts';
import { safeCode } from './to-upstream-error.ts';

/** Where one federated call or listing goes: a service's MCP endpoint, with the credential to present there. */
export interface McpTarget {
  readonly tenant: string;
  readonly service: string;
  readonly url: string;
  readonly credential: UpstreamCredential;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /**
   * The service's `maxResponseBytes`: an answer declaring a larger `Content-Length`, or larger once read (all its
   * event streams together, the resumed ones included), fails with `upstream_too_large`; so does the session's
   * standalone stream past it in one event or within a minute (see `createMcpUpstream`).
   */
  readonly maxResponseBytes: number;
  /** The service's fixed `headers`, sent on every request of its session (the credential's own header wins). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A `tools/call` answer: `status` 401 when the server refused the credential (the caller may refresh and retry). */
export interface McpCallAnswer {
  readonly status: number;
  /**
   * The server's result (`CallToolResult`, `ReadResourceResult`, `GetPromptResult`), untouched (scrubbing and
   * shaping happen in the gateway).
   */
  readonly result?: Readonly<Record<string, unknown>>;
}

/** What a server lists besides its tools; a kind whose capability the server does not declare is empty. */
export interface McpFeatureListing {
  readonly resources: readonly Record<string, unknown>[];
  readonly resourceTemplates: readonly Record<string, unknown>[];
  readonly prompts: readonly Record<string, unknown>[];
  /** The server declares the `completions` capability. */
  readonly completions: boolean;
}

/** A `completion/complete` as the server knows its ref: its own prompt name, or its resource (template) URI. */
export interface McpCompleteParams {
  readonly ref:
    | { readonly type: 'ref/prompt'; readonly name: string }
    | { readonly type: 'ref/resource'; readonly uri: string };
  readonly argument: { readonly name: string; readonly value: string };
  readonly context?: { readonly arguments?: Readonly<Record<string, string>> };
}

/** The MCP log levels (RFC 5424 severities), least severe first. */
export const mcpLogLevels = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type McpLogLevel = (typeof mcpLogLevels)[number];

/** A server's `notifications/message` as received: nothing checked yet (the level may be anything). */
export interface McpLogMessage {
  readonly level: unknown;
  readonly logger?: unknown;
  readonly data?: unknown;
}

export interface McpCallOptions {
  /**
   * The called tool's input schema as the gateway listed it (`callTool`): a 2026-07-28 session's SDK client mirrors
   * its `x-mcp-header` parameters into `Mcp-Param-*` headers from it (SEP-2243). Without it the client looks the tool
   * up in a `tools/list` of its own, which it makes (every page) when a server answers a call with a header mismatch
   * (`-32020`), compiling an output-schema validator for every tool listed: 20,000 tools held the event loop for
   * seconds per call (finding header_mismatch_relists_server_tools).
   */
  readonly inputSchema?: Readonly<Record<string, unknown>>;
  /**
   * Removes the credential sent from a text (the call's scrubber): a server's error text is scrubbed before it is
   * cut to an excerpt, so a secret the cut would split never reaches the error half-scrubbed.
   */
  readonly scrub?: (text: string) => string;
  /** `_meta` of the request as the gateway forwards it (the client's own keys, never the gateway's). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** Cancels the request: the server is told (`notifications/cancelled`, or the 2026 era's closed stream). */
  readonly signal?: AbortSignal;
  /** Asks the server for progress (a progress token of the gateway's own) and receives each notice. */
  readonly onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /**
   * Asks the server for log messages of this request: a 2026-07-28 server by the request's own
   * `_meta["io.modelcontextprotocol/logLevel"]`; a 2025-era server is sent no `logging/setLevel` (its level belongs
   * to the session, which other calls with the same credential share) and logs at whatever level its session has.
   * `onMessage` receives each `notifications/message` the server sends on this request's answer stream, unfiltered.
   */
  readonly log?: { readonly level: McpLogLevel; readonly onMessage: (message: McpLogMessage) => void };
  /**
   * Answers the server's `elicitation/create` and `sampling/createMessage` during this request (absent: the server
   * gets an error saying the gateway's client cannot be asked).
   */
  readonly ask?: (request: {
    method: 'elicitation/create' | 'sampling/createMessage';
    params: Record<string, unknown>;
  }) => Promise<Readonly<Record<string, unknown>>>;
}

export interface McpUpstream {
  /** Every tool the server lists, following `nextCursor` (at most `maxListPages` pages, `maxResponseBytes` in all). */
  listTools(target: McpTarget): Promise<readonly Record<string, unknown>[]>;
  callTool(
    target: McpTarget,
    name: string,
    args: Readonly<Record<string, unknown>>,
    options?: McpCallOptions,
  ): Promise<McpCallAnswer>;
  /** Every resource, resource template and prompt the server lists (each following `nextCursor`, as tools). */
  listFeatures(target: McpTarget): Promise<McpFeatureListing>;
  readResource(target: McpTarget, uri: string, options?: McpCallOptions): Promise<McpCallAnswer>;
  getPrompt(
    target: McpTarget,
    name: string,
    args: Readonly<Record<string, string>>,
    options?: McpCallOptions,
  ): Promise<McpCallAnswer>;
  /** `completion/complete` (the server's `CompleteResult`, untouched), within the target's timeout. */
  complete(target: McpTarget, params: McpCompleteParams, options?: McpCallOptions): Promise<McpCallAnswer>;
  /**
   * `listener(tenant, service)` runs when a session of that service receives `notifications/tools/list_changed`,
   * `notifications/resources/list_changed` or `notifications/prompts/list_changed`.
   */
  onListChanged(listener: (tenant: string, service: string) => void): void;
  /** Open sessions (for tests and metrics). */
  sessionCount(): number;
  close(): Promise<void>;
}

export interface McpUpstreamOptions {
  /** Hosts (as written in URLs) that may resolve to private or loopback addresses (the SSRF guard, MC-07). */
  readonly allowPrivateHosts: readonly string[];
  readonly resolve?: ResolveHost;
  /** Sessions kept open at once (least recently used closed first); default 256. */
  readonly maxSessions?: number;
  readonly clientInfo?: { readonly name: string; readonly version: string };
  /**
   * A session's standalone stream (server messages related to no request) was cut off for its size and is not
   * reopened for the session (for the log): nobody waits on that stream, so nothing else reports it.
   */
  readonly onStreamCutOff?: (tenant: string, service: string, error: GatehouseError) => void;
}

const maxListPages = 50;
/** The protocol version that asks for log messages per request (`_meta["io.modelcontextprotocol/logLevel"]`). */
const firstPerRequestLogLevel = '2026-07-28';
/**
 * A result checked by its caller rather than by the SDK client: a `completion/complete` answer with more than the
 * spec's 100 values is cut to 100 by the gateway, not refused (the SDK's own schema refuses it).
 */
const anyResult = z.looseObject({});

/**
 * One request of the SDK client in flight: who answers the server's questions and receives its log messages (the
 * caller's `ask` and `log`), the bytes of its answer's event streams so far (the POST's and the GETs resuming it,
 * counted together against the service's cap), and `cutOff`, which ends the request at once when one of them is
 * cut off for its size.
 */
interface Relay extends Pick<McpCallOptions, 'ask' | 'log'> {
  readonly answer: AnswerBytes;
  readonly cutOff: AbortController;
  /** The request is over: a stream the SDK client would resume for it later is not opened. */
  ended: boolean;
  /** Its session's answer streams by their last event id (`ResumableStreams`), known from its first stream. */
  resumable?: ResumableStreams;
  /** The id of the last event of its answer streams, as the SDK client reports it (`onresumptiontoken`). */
  lastEventId?: string;
}

/**
 * A session's requests by the last event id of their answer streams: what a GET resuming one (`Last-Event-ID`) is
 * matched by when it runs outside its request's async context. The relay's storage is off while no request is in
 * flight (`disableStorageWhenIdle`), and the SDK client goes on resuming a 2025-era request it gave up (timed out,
 * cancelled) for as long as each resumed stream ends after an event id: without this, such a stream passed for the
 * session's standalone one and was resumed for as long as the session lived (finding sdk_path_zombie_resumption).
 * `over`: the request ended. At most `maxResumableStreams` per session, the oldest forgotten first. Event ids are
 * unique across a session's streams (MCP Streamable HTTP); a server repeating an ended request's id on its
 * standalone stream has that stream refused as well.
 */
type ResumableStreams = Map<string, Relay | 'over'>;
const maxResumableStreams = 256;

/**
 * The relay of the request in whose async context something happens (the SDK sends a request, reads its answer
 * stream, resumes it, and runs a 2026-era server's input requests, within that request's context). A session is
 * opened outside any request's context, so a question or a log message on its standalone stream finds no one (the
 * question is refused, the message dropped), and its standalone stream is metered as the session's, not a request's.
 */
const calling = new AsyncLocalStorage<Relay>();
/**
 * Whether the relay's storage is on (and with it, on Node 20, promise hooks for every promise of the process).
 * Tests read it; it is not part of the public surface.
 */
export const isRelayStorageEnabled = (): boolean => (calling as unknown as { enabled: boolean }).enabled;
/** Runs a request's sending in `calling`; off while no federated request is in flight (`disableStorageWhenIdle`). */
const whileRelaying = disableStorageWhenIdle(calling);

/** The SDK request options every relayed request is sent with (`sendRelayed`). */
interface RelayedOptions {
  /** The caller's signal, with the relay's cut-off. */
  readonly signal: AbortSignal;
  /** Told each event id of the request's answer streams, so a resumption is matched to its request. */
  readonly onresumptiontoken: (token: string) => void;
}

/**
 * Sends one request of the SDK client in its relay (`calling`), given the options to send it with. A stream of its
 * answer cut off for its size ends the request at once with that error: the SDK client reports a broken stream only
 * to `onerror`, and would wait for the request's timeout. Ending it is a cancellation to the SDK client, which tells
 * the server (`notifications/cancelled`, or the 2026 era's closed stream).
 */
async function sendRelayed<T>(
  callOptions: Pick<McpCallOptions, 'ask' | 'log' | 'signal'>,
  send: (relayed: RelayedOptions) => Promise<T>,
): Promise<T> {
  const cutOff = new AbortController();
  const relay: Relay = {
    ...(callOptions.ask === undefined ? {} : { ask: callOptions.ask }),
    ...(callOptions.log === undefined ? {} : { log: callOptions.log }),
    answer: { bytes: 0 },
    cutOff,
    ended: false,
  };
  const signal =
    callOptions.signal === undefined ? cutOff.signal : AbortSignal.any([callOptions.signal, cutOff.signal]);
  /** Called by the SDK client with each event id of the request's answer streams, in or out of its context. */
  const onresumptiontoken = (token: string) => {
    const streams = relay.resumable;
    if (streams === undefined) return;
    if (relay.lastEventId !== undefined) streams.delete(relay.lastEventId);
    relay.lastEventId = token;
    streams.set(token, relay.ended ? 'over' : relay);
    if (streams.size > maxResumableStreams) streams.delete(streams.keys().next().value as string);
  };
  try {
    return await whileRelaying(() => calling.run(relay, () => send({ signal, onresumptiontoken })));
  } catch (error) {
    throw cutOff.signal.aborted ? cutOff.signal.reason : error;
  } finally {
    relay.ended = true;
    if (relay.lastEventId !== undefined && relay.resumable?.has(relay.lastEventId) === true) {
      relay.resumable.set(relay.lastEventId, 'over');
    }
  }
}
/** An event stream whose reader counts its bytes itself. */
const unmetered: StreamMeter = () => undefined;

const listChangedNotices = [
  'notifications/tools/list_changed',
  'notifications/resources/list_changed',
  'notifications/prompts/list_changed',
] as const;

/**
 * A digest of a credential, the part of a session's key that tells credentials apart without holding the secret
 * in the key. Credentials are immutable and a static one is the same object on every call: its digest is kept
 * with it rather than hashed per call.
 */
const credentialDigests = new WeakMap<UpstreamCredential, string>();
function credentialDigestOf(credential: UpstreamCredential): string {
  let digest = credentialDigests.get(credential);
  if (digest === undefined) {
    digest = createHash('sha256').update(JSON.stringify(credential)).digest('base64url');
    credentialDigests.set(credential, digest);
  }
  return digest;
}

/** The listing requests, by the key of the items in their result. */
type ListedKind = 'tools' | 'resources' | 'resourceTemplates' | 'prompts';
const listers: Record<
  ListedKind,
  (
    client: Client,
    params: { cursor?: string },
    options: RelayedOptions & { timeout: number; cacheMode: 'bypass' },
  ) => Promise<Record<string, unknown>>
> = {
  tools: (client, params, options) => client.listTools(params, options),
  resources: (client, params, options) => client.listResources(params, options),
  resourceTemplates: (client, params, options) => client.listResourceTemplates(params, options),
  prompts: (client, params, options) => client.listPrompts(params, options),
};

interface Session {
  readonly key: string;
  readonly client: Client;
  /** The session as a direct call reaches it (`sendDirectToolCall`): its endpoint, headers and guarded fetch. */
  readonly direct: DirectSession;
  readonly ready: Promise<void>;
  /** Its streams' reopenings: spaced out when the server keeps ending them, all cleared when it is dropped. */
  readonly reconnections: SessionReconnections;
}

/**
 * The gateway as an MCP client of federated services (the official SDK client, Streamable HTTP, both protocol eras:
 * `server/discover` is probed first and a 2025-era server gets the plain `initialize`). One session per (tenant,
 * service, credential), reused by every call with that credential and bounded in number; a session the server has
 * forgotten (HTTP 404) is opened again once. Every request goes through the SSRF guard (private addresses refused
 * unless allowed, checked at connect time against the addresses actually used), follows no redirect to another
 * origin, and carries only the service's credential: nothing from the inbound request.
 *
 * Answers are capped at the service's `maxResponseBytes`: a JSON answer read whole, a request's event streams
 * together (the POST's answer stream and the GET streams resuming it), and every answer to one request of ours
 * together (a listing's pages, which the SDK client fetches one after another), the request failing at once with
 * `upstream_too_large`. The standalone GET stream of a 2025-era session lives as long as the session, so it is bounded
 * per event and per minute instead (`meterNotificationStream`); past either it is cut off, reported
 * (`onStreamCutOff`), and not reopened for the session, whose requests go on.
 */
export function createMcpUpstream(options: McpUpstreamOptions): McpUpstream {
  const guard = createAddressGuard(options.allowPrivateHosts, options.resolve);
  const maxSessions = options.maxSessions ?? 256;
  const clientInfo = options.clientInfo ?? { name: 'gatehouse', version: '0.1.0' };
  const agent = new Agent({
    connect: createGuardedConnector(guard, (connectOptions) => connectTimeoutOf(connectOptions.hostname)),
    keepAliveTimeout: 4_000,
  });
  const connectTimeouts = new Map<string, number>();
  const connectTimeoutOf = (hostname: string) => connectTimeouts.get(hostname) ?? 10_000;
  const sessions = new Map<string, Session>();
  /**
   * Ended by `close()`, as the clients' own requests are. A session dropped while the upstream stays open lets its
   * direct calls finish: the server may still answer them, and a failure of one call is no reason to fail the others.
   */
  const directCalls = createDirectCalls();
  const listeners: ((tenant: string, service: string) => void)[] = [];
  const listChanged = (target: McpTarget) => {
    for (const listener of listeners) listener(target.tenant, target.service);
  };

  /**
   * The guarded fetch of a session (SSRF guard, origin check, size caps, scope challenges), for its SDK client's
   * transport (`client`) or for its direct calls (`direct`, which count an answer's streams together themselves and
   * open no standalone stream). An answer (an event stream or a body read whole) is metered by who it belongs to: a
   * request of ours in flight (its relay: all its answers count together), the session's standalone stream (no
   * relay, GET), or one answer on its own.
   */
  function fetchFor(target: McpTarget, role: 'client' | 'direct'): FetchLike {
    const origin = new URL(target.url).origin;
    const cap: ResponseCap = { maxResponseBytes: target.maxResponseBytes, tooLarge: () => tooLargeFor(target) };
    const standaloneCap: ResponseCap = {
      maxResponseBytes: target.maxResponseBytes,
      tooLarge: () => standaloneTooLargeFor(target),
    };
    const standalone: { readonly volume: NotificationVolume; cutOff?: GatehouseError } = {
      volume: { windowStartMs: 0, bytes: 0 },
    };
    const resumable: ResumableStreams = new Map();
    const limits = {
      userAgent: `${clientInfo.name}/${clientInfo.version}`,
      maxResponseBytes: target.maxResponseBytes,
      tooLarge: cap.tooLarge,
      refuse: (head: { status: number; headers: Headers }) => insufficientScopeOf(head, target),
    };
    /** How an event stream answering this request is metered; throws when the stream may not be opened at all. */
    const meterOf = (method: string, headers: RequestInit['headers']): StreamMeter => {
      // A direct call counts its answer's streams together itself (`readEvents`): a count per stream here would only
      // repeat it.
      if (role === 'direct') return unmetered;
      const inContext = calling.getStore();
      if (inContext !== undefined) inContext.resumable ??= resumable;
      const lastEventId =
        inContext === undefined && method === 'GET' ? new Headers(headers).get('last-event-id') : null;
      const relay = inContext ?? (lastEventId === null ? undefined : resumable.get(lastEventId));
      if (relay !== undefined) {
        // The SDK client resumes a stream of a request it gave up (cancelled, timed out) for as long as the server
        // ends each one after an event id.
        if (relay === 'over' || (relay.ended && method === 'GET')) {
          throw new GatehouseError(
            'upstream_error',
            `A stream of the MCP server of ${target.service} is not resumed for a request that is over`,
            { service: target.service },
          );
        }
        const meter = meterAnswerStream(relay.answer, cap);
        return (chunk) => {
          const over = meter(chunk);
          if (over !== undefined) relay.cutOff.abort(over);
          return over;
        };
      }
      if (method !== 'GET') return meterAnswerStream({ bytes: 0 }, cap);
      // The SDK client reopens a standalone stream that ended or broke: not one cut off for its size.
      if (standalone.cutOff !== undefined) throw standalone.cutOff;
      const meter = meterNotificationStream(standaloneCap, standalone.volume);
      return (chunk) => {
        const over = meter(chunk);
        if (over !== undefined && standalone.cutOff === undefined && isGatehouseError(over)) {
          standalone.cutOff = over;
          options.onStreamCutOff?.(target.tenant, target.service, over);
        }
        return over;
      };
    };
    return async (input, init) => {
      const url = new URL(String(input));
      if (url.origin !== origin) {
        throw new GatehouseError('upstream_blocked', `Upstream origin ${url.origin} is not the service's origin`, {
          origin: url.origin,
        });
      }
      guard.checkUrl(url);
      const meter = meterOf(init?.method ?? 'GET', init?.headers);
      connectTimeouts.set(url.hostname, target.connectTimeoutMs);
      return fetchWithDispatcher(agent, url, init, { ...limits, meter });
    };
  }

  function keyOf(target: McpTarget): string {
    // Fixed headers belong to the session: a changed set (a stored configuration changed) opens a new one.
    const headers = target.headers === undefined ? '' : JSON.stringify(Object.entries(target.headers).sort());
    return `${target.tenant}\u0000${target.service}\u0000${target.url}\u0000${credentialDigestOf(target.credential)}\u0000${headers}`;
  }

  function open(target: McpTarget, key: string): Session {
    // The credential is applied the way every upstream request gets it (a query API key goes into the URL).
    const built = applyCredential(
      { method: 'POST', url: new URL(target.url), headers: { ...target.headers } },
      target.credential,
    );
    // Elicitation and sampling are declared to every server; a request whose client cannot be asked answers an error.
    const client = new Client(clientInfo, {
      versionNegotiation: { mode: 'auto' },
      listMaxPages: maxListPages,
      capabilities: { elicitation: { form: {}, url: {} }, sampling: {} },
    });
    for (const method of ['elicitation/create', 'sampling/createMessage'] as const) {
      client.setRequestHandler(method, async (request) => {
        const call = calling.getStore();
        // No call: it came on the session's standalone stream, which several callers share and none waits on.
        if (call === undefined) {
          throw new ProtocolError(
            ProtocolErrorCode.InvalidRequest,
            `The gateway cannot relay ${method} sent outside any tool call (on the session's standalone stream): send it related to the tool call's request, on its answer stream`,
          );
        }
        const ask = call.ask;
        if (ask === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidRequest, cannotAsk(method));
        return (await ask({ method, params: { ...request.params } })) as never;
      });
    }
    client.setNotificationHandler('notifications/message', (notification) => {
      calling.getStore()?.log?.onMessage(notification.params);
    });
    for (const changed of listChangedNotices) {
      client.setNotificationHandler(changed, () => listChanged(target));
    }
    client.onerror = () => {};
    const fetch = fetchFor(target, 'client');
    const reconnections = createReconnectionScheduler();
    const transport = new StreamableHTTPClientTransport(built.url, {
      requestInit: { headers: { ...built.headers } },
      fetch,
      redirectPolicy: 'same-origin',
      reconnectionOptions: {
        maxReconnectionDelay: maxReconnectionDelayMs,
        initialReconnectionDelay: 1_000,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 2,
      },
      // A request's answer stream is resumed in its relay's context; the standalone stream is the session's (none).
      reconnectionScheduler: (reconnect, delay, attempt) =>
        (calling.getStore() === undefined ? reconnections.schedule : reconnections.resume)(reconnect, delay, attempt),
    });
    const direct: DirectSession = {
      service: target.service,
      url: built.url,
      headers: built.headers,
      fetch: fetchFor(target, 'direct'),
      // Known once the session is open: read when a call is sent.
      get sessionId() {
        return transport.sessionId;
      },
      get protocolVersion() {
        return client.getNegotiatedProtocolVersion() ?? '';
      },
      calls: directCalls,
      maxResponseBytes: target.maxResponseBytes,
      tooLarge: () => tooLargeFor(target),
    };
    const session: Session = {
      key,
      client,
      direct,
      ready: calling.exit(() => client.connect(transport, { timeout: target.timeoutMs })),
      reconnections,
    };
    session.ready.catch(() => drop(session));
    return session;
  }

  function drop(session: Session): void {
    if (sessions.get(session.key) === session) sessions.delete(session.key);
    session.reconnections.cancelAll();
    void session.client.close().catch(() => {});
  }

  async function sessionOf(target: McpTarget): Promise<Session> {
    const key = keyOf(target);
    let session = sessions.get(key);
    if (session === undefined) {
      while (sessions.size >= maxSessions) {
        const oldest = sessions.values().next().value as Session;
        drop(oldest);
      }
      session = open(target, key);
      sessions.set(key, session);
    } else {
      // Least recently used first: re-insert at the end.
      sessions.delete(key);
      sessions.set(key, session);
    }
    await session.ready;
    return session;
  }

  /**
   * Runs `use` on the target's session; a session the server forgot (404) is opened again, once. A session whose
   * request failed below the protocol is closed, unless the request was cancelled (`signal`) or timed out: the
   * gateway ended that request, not the session, and closing it would fail every other call in flight on it.
   */
  async function withSession<T>(
    target: McpTarget,
    use: (client: Client, session: Session) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await sessionOf(target).catch((error: unknown) => {
        // The server's error text of a failed `initialize` reaches the caller too: scrubbed before it is cut.
        throw toMcpUpstreamError(error, target, credentialScrubberOf(target));
      });
      try {
        return await use(session.client, session);
      } catch (error) {
        if (attempt === 0 && error instanceof SdkHttpError && error.status === 404) {
          drop(session);
          continue;
        }
        // The server refused this request's scope, the request timed out, or its answer was cut off for its size:
        // other requests on the session go on.
        const kept = ['upstream_insufficient_scope', 'upstream_timeout', 'upstream_too_large'].includes(
          toMcpUpstreamError(error, target).code,
        );
        if (!(error instanceof ProtocolError) && signal?.aborted !== true && !kept) drop(session);
        throw error;
      }
    }
  }

  /**
   * Every page of one listing of the server: the SDK client follows `nextCursor` itself (at most `maxListPages`
   * pages), all within one request of ours, so the pages' bytes count together against the service's
   * `maxResponseBytes` (`meterOf`): a listing is held whole in memory, and 50 pages each under the cap would be 50
   * times it. Its pages together, too, are sent within the service's `timeoutMs`: the SDK client's `timeout` bounds
   * each page, and 50 pages each just within it held the gateway's start (and a tenant's write) 50 times as long
   * (finding listing_pages_outlast_timeout).
   */
  async function listAll(client: Client, target: McpTarget, kind: ListedKind): Promise<Record<string, unknown>[]> {
    const deadline = AbortSignal.timeout(target.timeoutMs);
    const listed = await sendRelayed({ signal: deadline }, (relayed) =>
      listers[kind](client, {}, { timeout: target.timeoutMs, cacheMode: 'bypass', ...relayed }),
    ).catch((error: unknown) => {
      // A cut-off for its size is the listing's own error; the deadline's abort is a timeout of all the pages.
      throw deadline.aborted && !isGatehouseError(error)
        ? listingTimeoutFor(target, kind)
        : toListingError(error, target, kind);
    });
    const items = listed[kind];
    if (!Array.isArray(items)) {
      throw new GatehouseError('upstream_error', `The MCP server of ${target.service} listed no ${kind} array`, {
        service: target.service,
      });
    }
    return items as Record<string, unknown>[];
  }

  /** One request answered with its result; a refused credential is `status: 401` (the caller may refresh). */
  async function answer(
    target: McpTarget,
    use: (client: Client, session: Session) => Promise<unknown>,
    callOptions: Pick<McpCallOptions, 'signal' | 'scrub'>,
  ): Promise<McpCallAnswer> {
    const signal = callOptions.signal;
    try {
      return await withSession(
        target,
        async (client, session) => ({ status: 200, result: (await use(client, session)) as Record<string, unknown> }),
        signal,
      );
    } catch (error) {
      if (error instanceof SdkHttpError && error.status === 401) return { status: 401 };
      if (signal?.aborted === true) {
        throw new GatehouseError('cancelled', `The call to the MCP server of ${target.service} was cancelled`, {
          service: target.service,
          cancelled: true,
        });
      }
      throw toMcpUpstreamError(error, target, callOptions.scrub);
    }
  }

  /** The SDK request options of a call, with those of its relay (`sendRelayed`). */
  const optionsOf = (target: McpTarget, callOptions: McpCallOptions, relayed: RelayedOptions) => {
    const { onProgress } = callOptions;
    return {
      timeout: target.timeoutMs,
      ...relayed,
      ...(onProgress
        ? {
            onprogress: ({ progress, total, message }: { progress: number; total?: number; message?: string }) =>
              onProgress({
                progress,
                ...(total === undefined ? {} : { total }),
                ...(message === undefined ? {} : { message }),
              }),
          }
        : {}),
    };
  };
  /** A direct call's hooks: the call's progress and log relays, and the session's list-change listeners. */
  const directHooksOf = (target: McpTarget, callOptions: McpCallOptions): DirectCallHooks => ({
    timeoutMs: target.timeoutMs,
    ...(callOptions.signal === undefined ? {} : { signal: callOptions.signal }),
    ...(callOptions.onProgress === undefined ? {} : { onProgress: callOptions.onProgress }),
    ...(callOptions.log === undefined ? {} : { onLog: callOptions.log.onMessage }),
    onListChanged: () => listChanged(target),
    cannotAsk,
  });
  /** The request's `_meta`: the forwarded keys, and the log level for a 2026-07-28 server (its era's way to ask). */
  const metaOf = (callOptions: McpCallOptions, client?: Client) => {
    const version = client?.getNegotiatedProtocolVersion();
    const level =
      // Versions are dates: 2026-07-28 and later carry per-request `_meta` (the 2025 era has no such key).
      callOptions.log !== undefined && version !== undefined && version >= firstPerRequestLogLevel
        ? { [LOG_LEVEL_META_KEY]: callOptions.log.level }
        : undefined;
    return callOptions.meta === undefined && level === undefined ? {} : { _meta: { ...callOptions.meta, ...level } };
  };

  return {
    listTools: (target) => withSession(target, (client) => listAll(client, target, 'tools')),

    listFeatures(target) {
      return withSession(target, async (client) => {
        const declared = client.getServerCapabilities() ?? {};
        // Together, on the one session: each kind has the service's timeoutSeconds, and one after another they
        // took three times it (finding listing_kinds_outlast_timeout).
        const [resources, resourceTemplates, prompts] = await Promise.all([
          declared.resources ? listAll(client, target, 'resources') : [],
          declared.resources ? listAll(client, target, 'resourceTemplates') : [],
          declared.prompts ? listAll(client, target, 'prompts') : [],
        ]);
        return { resources, resourceTemplates, prompts, completions: declared.completions !== undefined };
      });
    },

    callTool(target, name, args, callOptions = {}) {
      return answer(
        target,
        async (client, session) => {
          const params = { name, arguments: { ...args }, ...metaOf(callOptions, client) };
          // A caller who cannot be asked questions, on a 2025-era session: the gateway sends the call itself.
          if (callOptions.ask === undefined && client.getProtocolEra() === 'legacy') {
            const result = await sendDirectToolCall(session.direct, params, directHooksOf(target, callOptions));
            if (result !== redirected) return result;
          }
          // The tool as the gateway listed it, without its output schema (the gateway checks structured content
          // itself): the SDK client then never lists the server's tools to find it.
          const toolDefinition = {
            name,
            inputSchema: { type: 'object', ...callOptions.inputSchema } as { type: 'object' },
          };
          return sendRelayed(callOptions, (relayed) =>
            client.callTool(params, { ...optionsOf(target, callOptions, relayed), toolDefinition }),
          );
        },
        callOptions,
      );
    },

    readResource(target, uri, callOptions = {}) {
      return answer(
        target,
        (client) =>
          sendRelayed(callOptions, (relayed) =>
            client.readResource(
              { uri, ...metaOf(callOptions, client) },
              { ...optionsOf(target, callOptions, relayed), cacheMode: 'bypass' },
            ),
          ),
        callOptions,
      );
    },

    getPrompt(target, name, args, callOptions = {}) {
      return answer(
        target,
        (client) =>
          sendRelayed(callOptions, (relayed) =>
            client.getPrompt(
              { name, arguments: { ...args }, ...metaOf(callOptions, client) },
              optionsOf(target, callOptions, relayed),
            ),
          ),
        callOptions,
      );
    },

    complete(target, params, callOptions = {}) {
      return answer(
        target,
        (client) =>
          // Relayed for its size cap only: a completion's questions and log messages are not the caller's to see.
          sendRelayed(callOptions.signal === undefined ? {} : { signal: callOptions.signal }, (relayed) =>
            client.request(
              {
                method: 'completion/complete',
                params: {
                  ref: { ...params.ref },
                  argument: { ...params.argument },
                  ...(params.context?.arguments ? { context: { arguments: { ...params.context.arguments } } } : {}),
                  ...metaOf(callOptions),
                },
              },
              anyResult,
              optionsOf(target, callOptions, relayed),
            ),
          ),
        callOptions,
      );
    },

    onListChanged(listener) {
      listeners.push(listener);
    },

    sessionCount: () => sessions.size,

    async close() {
      const open = [...sessions.values()];
      sessions.clear();
      directCalls.close(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'));
      for (const session of open) session.reconnections.cancelAll();
      await Promise.all(open.map((session) => session.client.close().catch(() => {})));
      await agent.close();
    },
  };
}

/**
 * Removes every secret of the target's credential from a text: what `toMcpUpstreamError` applies to a server's error
 * text before cutting it, where no caller gave a scrubber (a session opened, a listing). Cutting first could leave
 * the start of a secret that no later scrubber recognises (finding listing_error_cut_before_scrub).
 */
function credentialScrubberOf(target: McpTarget): (text: string) => string {
  return createScrubber(listCredentialSecrets(target.credential));
}

/**
 * Why one listing failed, for the service's status and the log: a listing past the page limit or past
 * `maxResponseBytes` (its pages together) says so; anything else as any failed request (`toMcpUpstreamError`), its
 * text scrubbed of the service's credential before it is cut.
 */
function toListingError(error: unknown, target: McpTarget, kind: ListedKind): GatehouseError {
  if (error instanceof SdkError && error.code === SdkErrorCode.ListPaginationExceeded) {
    return new GatehouseError(
      'upstream_error',
      `The MCP server of ${target.service} lists more than ${maxListPages} pages of ${kind}`,
      { service: target.service },
    );
  }
  const failure = toMcpUpstreamError(error, target, credentialScrubberOf(target));
  if (failure.code !== 'upstream_too_large') return failure;
  return new GatehouseError(
    'upstream_too_large',
    `The MCP server of ${target.service} lists more than the service's maxResponseBytes (${target.maxResponseBytes} bytes) of ${kind}, its pages together`,
    { service: target.service, maxResponseBytes: target.maxResponseBytes },
  );
}

/** A listing whose pages together took longer than the service's `timeoutSeconds`. */
function listingTimeoutFor(target: McpTarget, kind: ListedKind): GatehouseError {
  const seconds = target.timeoutMs / 1000;
  return new GatehouseError(
    'upstream_timeout',
    `The MCP server of ${target.service} did not list its ${kind} in time (all its pages within the service's timeoutSeconds, ${seconds} s)`,
    { service: target.service, timeoutSeconds: seconds },
  );
}

/** An answer over the service's `maxResponseBytes`. */
function tooLargeFor(target: McpTarget): GatehouseError {
  return new GatehouseError(
    'upstream_too_large',
    `The MCP server of ${target.service} answered more than the service's maxResponseBytes (${target.maxResponseBytes} bytes)`,
    { service: target.service, maxResponseBytes: target.maxResponseBytes },
  );
}

/** A session's standalone stream past the service's `maxResponseBytes`, in one event or within a minute. */
function standaloneTooLargeFor(target: McpTarget): GatehouseError {
  return new GatehouseError(
    'upstream_too_large',
    `The MCP server of ${target.service} sent more than the service's maxResponseBytes (${target.maxResponseBytes} bytes) on its standalone stream, in one event or within a minute: the stream is closed for this session`,
    { service: target.service, maxResponseBytes: target.maxResponseBytes, stream: 'standalone' },
  );
}

/** Why a server's question is refused when the request's caller cannot be asked it. */
const cannotAsk = (method: string) =>
  `The gateway cannot relay ${method} here: its client did not declare the capability`;

/** At most this many scopes of a challenge are kept, each a scope token (RFC 6749 §3.3) of at most 200 characters. */
const maxChallengedScopes = 50;
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;

/**
 * A 401 or 403 whose `WWW-Authenticate` is a Bearer challenge with `error="insufficient_scope"` (RFC 6750 §3.1; the MCP
 * authorization spec's runtime scope challenge, which it answers by step-up authorization): the gateway's token lacks
 * a scope the server wants for this request. `details.missingScopes`: the challenge's `scope` (scope tokens only).
 * A refresh cannot widen a grant, so this is never retried with a refreshed token.
 */
function insufficientScopeOf(
  response: { status: number; headers: { get(name: string): string | null } },
  target: McpTarget,
) {
  if (response.status !== 401 && response.status !== 403) return undefined;
  const challenge = readBearerChallenge(response.headers.get('www-authenticate'));
  if (challenge?.error !== 'insufficient_scope') return undefined;
  const missingScopes = [...new Set(splitScopes(challenge.scope).filter((s) => scopeToken.test(s)))].slice(
    0,
    maxChallengedScopes,
  );
  return new GatehouseError(
    'upstream_insufficient_scope',
    missingScopes.length === 0
      ? `The MCP server of ${target.service} refused the connection's token for lacking a scope it did not name`
      : `The MCP server of ${target.service} refused the connection's token: it needs OAuth scope${missingScopes.length > 1 ? 's' : ''} ${missingScopes.join(' ')}`,
    { service: target.service, status: response.status, missingScopes },
  );
}

/**
 * An MCP client failure as a GatehouseError: the server's JSON-RPC error (its code and a bounded excerpt of its
 * message), a timeout, an unreachable server, or an HTTP refusal. The message never carries the credential (the
 * SDK's errors name no header), and the upstream's own text is cut short, after `scrub` (cutting first could leave
 * the start of a secret that no scrubber recognises).
 */
export function toMcpUpstreamError(
  error: unknown,
  target: Pick<McpTarget, 'service'> & Partial<Pick<McpTarget, 'url' | 'timeoutMs'>>,
  scrub: (text: string) => string = (text) => text,
): GatehouseError {
  const service = target.service;
  // The SDK wraps transport failures (`fetch failed`, and under it the guard's refusal or the socket error).
  let networkFailure = false;
  let reason: string | undefined;
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 6; cause = cause.cause, depth++) {
    if (isGatehouseError(cause)) return cause;
    if (cause instanceof TypeError && cause.message === 'fetch failed') networkFailure = true;
    const code = (cause as { code?: unknown }).code;
    if (networkFailure && reason === undefined && typeof code === 'string' && safeCode.test(code)) reason = code;
  }
  if (networkFailure) {
    // As an HTTP upstream's (toUpstreamError): the low-level code and the origin, never a path, query or header.
    const origin = originOf(target.url);
    const where = [origin, reason].filter((part) => part !== undefined).join(', ');
    return new GatehouseError(
      'upstream_unreachable',
      `The MCP server of ${service} cannot be reached${where === '' ? '' : ` (${where})`}`,
      {
        service,
        ...(reason === undefined ? {} : { reason }),
        ...(origin === undefined ? {} : { origin }),
      },
    );
  }
  // A JSON answer that does not parse (both the client's transport and a direct call parse with `JSON.parse`).
  if (error instanceof SyntaxError) {
    return new GatehouseError(
      'upstream_error',
      `The MCP server of ${service} answered with something that is not JSON`,
      {
        service,
      },
    );
  }
  if (error instanceof ProtocolError) {
    return new GatehouseError(
      'upstream_error',
      `The MCP server of ${service} answered error ${error.code}: ${scrub(String(error.message)).slice(0, 500)}`,
      { service, rpcCode: error.code },
    );
  }
  if (error instanceof SdkHttpError) {
    const code = error.status === 429 ? 'upstream_rate_limited' : 'upstream_error';
    return new GatehouseError(code, `The MCP server of ${service} answered HTTP ${error.status}`, {
      service,
      status: error.status,
    });
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    // Named with the setting that bounds it, so whoever reads the error knows what to raise.
    const seconds = target.timeoutMs === undefined ? undefined : target.timeoutMs / 1000;
    return new GatehouseError(
      'upstream_timeout',
      `The MCP server of ${service} did not answer in time${seconds === undefined ? '' : ` (within the service's timeoutSeconds, ${seconds} s)`}`,
      { service, ...(seconds === undefined ? {} : { timeoutSeconds: seconds }) },
    );
  }
  if (error instanceof SdkError) {
    // The SDK's sentence says why (`Unexpected content type: text/xml`: a URL that is not an MCP server); it may quote
    // the server, so it is scrubbed, then cut short, as a JSON-RPC error's message is.
    const why = scrub(String(error.message)).slice(0, 300);
    return new GatehouseError(
      'upstream_error',
      `The MCP server of ${service} failed: ${error.code}${why === '' ? '' : ` (${why})`}`,
      { service, sdkCode: error.code },
    );
  }
  return new GatehouseError('upstream_unreachable', `The MCP server of ${service} cannot be reached`, { service });
}

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
