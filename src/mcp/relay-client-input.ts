import { randomBytes } from 'node:crypto';
import { type CallToolResult, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { GatehouseError, isGatehouseError, isPlainObject } from '../core/index.ts';
import type { Caller, ServerQuestion } from '../gateway/index.ts';
import type { ProcessBus } from '../store/index.ts';
import { toCallToolResult } from './to-call-tool-result.ts';

/** What a tools/call handler answers its client next: a question of the server, or the call's result. */
export type NextRound =
  | {
      readonly kind: 'ask';
      readonly result: {
        resultType: 'input_required';
        inputRequests: Record<string, ServerQuestion>;
        requestState: string;
      };
    }
  | { readonly kind: 'done'; readonly result: CallToolResult | Error };

/** One call whose server may ask its client something (see `createClientInputRelay`). */
export interface RelayedCall {
  /** Asks the client: the question goes out as the next round, the answer comes with the client's retry. */
  ask(question: ServerQuestion): Promise<Readonly<Record<string, unknown>>>;
  /** The call's result, or the protocol error its client gets, once it has one. */
  finish(result: CallToolResult | Error): void;
  /**
   * Waits for the next round to answer the client with. One waiter at a time: a later call answers the one still
   * waiting with a `-32600` error (a client that gave up on its retry and sent it again gets the round on the new one).
   */
  next(): Promise<NextRound>;
}

/** How long the gateway waits for a client's answer to a server's question (a person may be answering). */
const answerTimeoutMs = 600_000;

/** Largest message between two processes: the client's answers one way, the call's next round the other (UTF-8). */
const relayMaxBytes = 8 * 1024 * 1024;

/** `mrt1.<process address>.<random>`: the process holding the call, and 24 random bytes naming the call. */
const statePattern = /^mrt1\.([A-Za-z0-9_-]{16})\.[A-Za-z0-9_-]{32}$/;

export interface ClientInputRelayOptions {
  /**
   * Requests between the gateway processes (Redis): a retry whose call another process holds is sent there.
   * Without one, such a retry is refused (the calls live in the process that received them).
   */
  readonly bus?: ProcessBus;
  /** How long the process holding a call has to acknowledge a relayed retry. Default 5 s. */
  readonly ackTimeoutMs?: number;
}

/** A round as it travels between processes: an error round keeps the JSON-RPC error the client is to get. */
type WireRound =
  | { kind: 'ask'; result: Extract<NextRound, { kind: 'ask' }>['result'] }
  | { kind: 'done'; result: CallToolResult }
  | { kind: 'error'; code: number; message: string; data?: unknown }
  | { kind: 'unknown' };

/**
 * Elicitation and sampling from a federated server, relayed to a 2026-07-28 client by the multi-round-trip pattern:
 * the server's question (asked while its tools/call is pending upstream) is answered to the client as an
 * `input_required` result whose `requestState` names the pending call; the client's retry carries the answers
 * (`inputResponses`) and that state, and is answered with the call's next round (another question, or the result).
 * The pending call is kept in the process that received the call; its state names that process (`mrt1.<address>.`,
 * the bus's random address) and 24 random bytes, and the call is bound to the caller's tenant and credential. A retry
 * that reaches another process is sent to the holder over the bus with the retrying caller's tenant and credential
 * id; the holder checks the binding, delivers the answers and replies with the next round. A state of this format
 * that names no pending call of the caller (ended, another client's, a process without a bus) is refused as the
 * SDK refuses a state it cannot verify (`-32602`); a holder that is gone or silent answers a retryable tool error
 * (`store_unavailable`: the call is lost with its process; calling the tool again starts it anew). An answer that
 * does not come within 10 minutes fails the question (the server gets the error).
 */
export function createClientInputRelay(options: ClientInputRelayOptions = {}) {
  const { bus } = options;
  const address = bus?.address ?? randomBytes(12).toString('base64url');
  const calls = new Map<string, { owner: string; call: RelayedCall; answer(key: string, value: unknown): void }>();
  /**
   * Whose call it is, and what it calls: the caller's tenant and credential, the toolset it was called through and
   * the tool it names (`relayedToolOf`). A retry naming another toolset or tool (charged to that one's rate limits,
   * finding relayed_retry_names_other_tool) names no pending call of its.
   */
  const ownerOf = (tenant: string, keyId: string, toolset: string, tool: string) =>
    `${tenant}\u0000${keyId}\u0000${toolset}\u0000${tool}`;

  /** The pending call `state` names here, bound to `owner`, with the answers delivered; undefined when none. */
  function resumeHere(owner: string, state: string, answers: unknown): RelayedCall | undefined {
    const entry = calls.get(state);
    if (entry === undefined || entry.owner !== owner) return undefined;
    if (isPlainObject(answers)) for (const [key, value] of Object.entries(answers)) entry.answer(key, value);
    return entry.call;
  }

  bus?.serve(async (text) => {
    const message: unknown = JSON.parse(text);
    if (!isPlainObject(message)) return JSON.stringify({ kind: 'unknown' });
    const { tenant, keyId, toolset, tool, state, answers } = message;
    const call =
      typeof tenant === 'string' &&
      typeof keyId === 'string' &&
      typeof toolset === 'string' &&
      typeof tool === 'string' &&
      typeof state === 'string'
        ? resumeHere(ownerOf(tenant, keyId, toolset, tool), state, answers)
        : undefined;
    return JSON.stringify(call === undefined ? { kind: 'unknown' } : toWireRound(await call.next()));
  });

  return {
    /**
     * A call of `tool` (as `relayedToolOf` names it) whose server may ask its client questions, named by a new
     * `requestState` token until it finishes.
     */
    open(caller: Caller, tool: string): RelayedCall {
      const token = `mrt1.${address}.${randomBytes(24).toString('base64url')}`;
      const rounds: NextRound[] = [];
      // The retry waiting for the next round: one at a time, a later retry of the same state supersedes it.
      let waiter: ((outcome: 'round' | 'superseded') => void) | undefined;
      const waiting = new Map<
        string,
        { resolve(value: Readonly<Record<string, unknown>>): void; reject(e: Error): void }
      >();
      let asked = 0;
      const push = (round: NextRound) => {
        rounds.push(round);
        const woken = waiter;
        waiter = undefined;
        woken?.('round');
      };
      const call: RelayedCall = {
        ask(question) {
          const key = `q${++asked}`;
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
              waiting.delete(key);
              reject(new Error('The client did not answer in time'));
            }, answerTimeoutMs);
            timer.unref();
            waiting.set(key, {
              resolve: (value) => {
                clearTimeout(timer);
                resolve(value);
              },
              reject: (error) => {
                clearTimeout(timer);
                reject(error);
              },
            });
            push({
              kind: 'ask',
              result: { resultType: 'input_required', inputRequests: { [key]: question }, requestState: token },
            });
          });
        },
        finish(result) {
          calls.delete(token);
          for (const pending of waiting.values()) pending.reject(new Error('The call ended'));
          push({ kind: 'done', result });
        },
        async next() {
          while (rounds.length === 0) {
            const previous = waiter;
            const outcome = await new Promise<'round' | 'superseded'>((resolve) => {
              waiter = resolve;
              previous?.('superseded');
            });
            if (outcome === 'superseded') return supersededRetry();
          }
          return rounds.shift() as NextRound;
        },
      };
      calls.set(token, {
        owner: ownerOf(caller.tenant, caller.keyId, caller.toolset, tool),
        call,
        answer(key, value) {
          const pending = waiting.get(key);
          if (pending === undefined) return;
          waiting.delete(key);
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
            pending.resolve(value as Record<string, unknown>);
          } else pending.reject(new Error(`The client's answer ${key} is not an object`));
        },
      });
      return call;
    },

    /** Whether `state` is of the relay's format (a retry of a relayed call, here or on another process). */
    isRelayState(state: unknown): state is string {
      return typeof state === 'string' && statePattern.test(state);
    },

    /**
     * The next round of the call a retry names (its `requestState`), after delivering the client's answers: here,
     * or from the process holding the call. Undefined when the state is not one of the relay's (an approval's retry
     * starts the call anew).
     */
    async resume(
      caller: Caller,
      state: unknown,
      answers: Readonly<Record<string, unknown>> | undefined,
      tool: string,
    ): Promise<NextRound | undefined> {
      const holder = typeof state === 'string' ? statePattern.exec(state)?.[1] : undefined;
      if (holder === undefined || typeof state !== 'string') return undefined;
      if (holder === address) {
        const call = resumeHere(ownerOf(caller.tenant, caller.keyId, caller.toolset, tool), state, answers);
        return call === undefined ? unknownState() : call.next();
      }
      if (bus === undefined) return unknownState();
      const request = JSON.stringify({
        tenant: caller.tenant,
        keyId: caller.keyId,
        toolset: caller.toolset,
        tool,
        state,
        answers: answers ?? {},
      });
      let reply: string;
      try {
        reply = await bus.request(holder, request, {
          ackTimeoutMs: options.ackTimeoutMs ?? 5_000,
          replyTimeoutMs: answerTimeoutMs,
          maxBytes: relayMaxBytes,
        });
      } catch (error) {
        return { kind: 'done', result: toCallToolResult({ ok: false, error: toRelayError(error) }) as CallToolResult };
      }
      return fromWireRound(JSON.parse(reply) as WireRound);
    },
  };
}

export type ClientInputRelay = ReturnType<typeof createClientInputRelay>;

/** A state of the relay's format that names no pending call of this caller: refused as an unverifiable state. */
function unknownState(): NextRound {
  return {
    kind: 'done',
    result: new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      'Invalid requestState: it names no pending call of this client (the call ended, or the state is not yours); call the tool again',
    ),
  };
}

/** A retry still waiting when a later retry of the same state came: only the latest is given the next round. */
function supersededRetry(): NextRound {
  return {
    kind: 'done',
    result: new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      'A later retry with this requestState is waiting for the next round; only the latest retry is answered',
    ),
  };
}

function toWireRound(round: NextRound): WireRound {
  if (round.kind === 'ask') return round;
  if (!(round.result instanceof Error)) return { kind: 'done', result: round.result };
  const error = round.result;
  return error instanceof ProtocolError
    ? {
        kind: 'error',
        code: error.code,
        message: error.message,
        ...(error.data === undefined ? {} : { data: error.data }),
      }
    : { kind: 'error', code: ProtocolErrorCode.InternalError, message: error.message };
}

function fromWireRound(round: WireRound): NextRound {
  switch (round.kind) {
    case 'ask':
      return round;
    case 'done':
      return { kind: 'done', result: round.result };
    case 'error':
      return { kind: 'done', result: new ProtocolError(round.code, round.message, round.data) };
    default:
      return unknownState();
  }
}

/** Why a relayed retry got no round: the holder gone or silent (retryable), or a message over the bound. */
function toRelayError(error: unknown): GatehouseError {
  if (isGatehouseError(error) && error.code === 'payload_too_large') {
    return new GatehouseError(
      'payload_too_large',
      `The answers or the call's next round are over ${relayMaxBytes} bytes and cannot be relayed between gateway processes`,
      { limit: relayMaxBytes },
    );
  }
  const reason = isGatehouseError(error) ? (error.details['reason'] ?? 'redis') : 'redis';
  return new GatehouseError(
    'store_unavailable',
    'The gateway process holding this call is gone or did not answer, so the call is lost; call the tool again',
    { reason },
  );
}

/**
 * The tool a relayed call is bound to, as its request names it: the tool, or for `gatehouse_call_tool` the tool its
 * `name` argument names (which is what a retry's rate limits are charged to).
 */
export function relayedToolOf(name: string, args: unknown): string {
  if (name !== 'gatehouse_call_tool' || !isPlainObject(args)) return name;
  const inner = args['name'];
  return typeof inner === 'string' ? `${name}\u0000${inner}` : name;
}
