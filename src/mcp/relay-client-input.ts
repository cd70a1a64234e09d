import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Caller, ServerQuestion } from '../gateway/index.ts';

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
  /** Waits for the next round to answer the client with. */
  next(): Promise<NextRound>;
}

/** How long the gateway waits for a client's answer to a server's question (a person may be answering). */
const answerTimeoutMs = 600_000;

/**
 * Elicitation and sampling from a federated server, relayed to a 2026-07-28 client by the multi-round-trip pattern:
 * the server's question (asked while its tools/call is pending upstream) is answered to the client as an
 * `input_required` result whose `requestState` names the pending call; the client's retry carries the answers
 * (`inputResponses`) and that state, and is answered with the call's next round (another question, or the result).
 * The state is a random token bound to the caller's tenant and credential, kept in this process: the retry must reach
 * the process that holds the call. An answer that does not come within 10 minutes fails the question (the server
 * gets the error).
 */
export function createClientInputRelay() {
  const calls = new Map<string, { owner: string; call: RelayedCall; answer(key: string, value: unknown): void }>();
  const ownerOf = (caller: Caller) => `${caller.tenant}\u0000${caller.keyId}`;

  return {
    /** A call whose server may ask its client questions, named by a new `requestState` token until it finishes. */
    open(caller: Caller): RelayedCall {
      const token = randomBytes(24).toString('base64url');
      const rounds: NextRound[] = [];
      let wake: (() => void) | undefined;
      const waiting = new Map<
        string,
        { resolve(value: Readonly<Record<string, unknown>>): void; reject(e: Error): void }
      >();
      let asked = 0;
      const push = (round: NextRound) => {
        rounds.push(round);
        wake?.();
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
          while (rounds.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
          return rounds.shift() as NextRound;
        },
      };
      calls.set(token, {
        owner: ownerOf(caller),
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

    /** The call a retry names (its `requestState`), with the client's answers delivered; undefined when unknown. */
    resume(caller: Caller, state: unknown, answers: Readonly<Record<string, unknown>> | undefined) {
      const entry = typeof state === 'string' ? calls.get(state) : undefined;
      if (entry === undefined || entry.owner !== ownerOf(caller)) return undefined;
      for (const [key, value] of Object.entries(answers ?? {})) entry.answer(key, value);
      return entry.call;
    },
  };
}

export type ClientInputRelay = ReturnType<typeof createClientInputRelay>;
