import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../gateway/index.ts';
import { createClientInputRelay } from './relay-client-input.ts';

const alice: Caller = {
  tenant: 'acme',
  toolset: 'all',
  authMethod: 'key',
  keyId: 'k1',
  keyName: 'a',
  subject: 'alice',
};
const bob: Caller = { ...alice, keyId: 'k2', subject: 'bob' };
const question = { method: 'elicitation/create', params: { message: 'Your name?' } } as const;
/** The tool the relayed calls of these tests are calls of (a pending call is bound to it). */
const tool = 'linear_ask_name';

async function askedState(relay: ReturnType<typeof createClientInputRelay>) {
  const call = relay.open(alice, tool);
  const answer = call.ask(question);
  const round = await call.next();
  if (round.kind !== 'ask') throw new Error('expected a question');
  return { call, answer, state: round.result.requestState };
}

describe('createClientInputRelay() without a process bus', () => {
  it('names the pending call by this process and 24 random bytes, and resumes it with the answers', async () => {
    const relay = createClientInputRelay();
    const { call, answer, state } = await askedState(relay);
    expect(state).toMatch(/^mrt1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}$/);
    const next = relay.resume(alice, state, { q1: { action: 'accept', content: { name: 'Ada' } } }, tool);
    expect(await answer).toEqual({ action: 'accept', content: { name: 'Ada' } });
    call.finish({ content: [{ type: 'text', text: 'hello Ada' }] });
    expect(await next).toEqual({ kind: 'done', result: { content: [{ type: 'text', text: 'hello Ada' }] } });
  });

  it('refuses the state retried with another credential (-32602) and delivers nothing', async () => {
    const relay = createClientInputRelay();
    const { answer, state } = await askedState(relay);
    const round = await relay.resume(bob, state, { q1: { action: 'accept', content: { name: 'Mallory' } } }, tool);
    expect(round?.kind).toBe('done');
    expect(round?.result).toBeInstanceOf(ProtocolError);
    expect((round?.result as ProtocolError | undefined)?.code).toBe(ProtocolErrorCode.InvalidParams);
    const late = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('unanswered'), 20))]);
    expect(late).toBe('unanswered');
  });

  it("refuses a state of another process's format when there is no bus to reach it", async () => {
    const relay = createClientInputRelay();
    const round = await relay.resume(alice, `mrt1.${'a'.repeat(16)}.${'b'.repeat(32)}`, {}, tool);
    expect((round?.result as ProtocolError | undefined)?.code).toBe(ProtocolErrorCode.InvalidParams);
  });

  it("leaves a state that is not the relay's (an approval's) to start the call anew", async () => {
    const relay = createClientInputRelay();
    expect(await relay.resume(alice, 'apr_0123456789', {}, tool)).toBeUndefined();
    expect(await relay.resume(alice, undefined, {}, tool)).toBeUndefined();
  });
});

describe('createClientInputRelay() concurrent retries', () => {
  it('concurrent_retry_never_answered: of two retries of one requestState in flight at once, the earlier is answered (superseded) instead of waiting forever', async () => {
    const relay = createClientInputRelay();
    const { call, answer, state } = await askedState(relay);
    const earlier = relay.resume(alice, state, {}, tool);
    const later = relay.resume(alice, state, { q1: { action: 'accept', content: { name: 'Ada' } } }, tool);
    expect(await answer).toEqual({ action: 'accept', content: { name: 'Ada' } });
    call.finish({ content: [{ type: 'text', text: 'hello Ada' }] });
    expect(await later).toEqual({ kind: 'done', result: { content: [{ type: 'text', text: 'hello Ada' }] } });
    const first = await Promise.race([earlier, new Promise((resolve) => setTimeout(() => resolve('hangs'), 200))]);
    expect(first).not.toBe('hangs');
    const error = (first as { result: unknown }).result;
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(/later retry/);
  });
});
