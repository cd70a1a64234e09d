import { describe, expect, it } from 'vitest';
import { createScrubber } from '../audit/index.ts';
import type { RelayedLogMessage } from './contract.ts';
import { maxLogDataChars, maxLogMessagesPerCall, relayServerLog, toLogLevel } from './relay-server-log.ts';

const secret = 'sk-live-relay-log-secret-0123456789';
const scrub = () => createScrubber([secret]);

function relayAt(level: Parameters<typeof relayServerLog>[0]['level']) {
  const seen: RelayedLogMessage[] = [];
  return { seen, relay: relayServerLog({ level, onMessage: (message) => seen.push(message) }, scrub) };
}

describe('relayServerLog()', () => {
  it('passes on the messages at the level or more severe, and drops unknown levels', () => {
    const { seen, relay } = relayAt('warning');
    for (const level of ['debug', 'info', 'notice', 'warning', 'error', 'emergency', 'loud', undefined]) {
      relay.onMessage({ level, data: level });
    }
    expect(seen.map((m) => m.level)).toEqual(['warning', 'error', 'emergency']);
  });

  it('scrubs the data and the logger of the secret, keeping the logger name', () => {
    const { seen, relay } = relayAt('debug');
    relay.onMessage({ level: 'info', logger: `db ${secret}`, data: { nested: [`token=${secret}`] } });
    relay.onMessage({ level: 'info', logger: 42, data: secret });
    expect(seen).toEqual([
      { level: 'info', logger: 'db [REDACTED]', data: { nested: ['token=[REDACTED]'] } },
      { level: 'info', data: '[REDACTED]' },
    ]);
  });

  it('cuts long data after scrubbing, so no part of a secret survives at the cut', () => {
    const { seen, relay } = relayAt('debug');
    const data = `${'x'.repeat(maxLogDataChars - 10)}${secret}`;
    relay.onMessage({ level: 'error', data });
    const text = String(seen[0]?.data);
    expect(text).toContain('cut by the gateway');
    expect(text).not.toContain(secret.slice(0, 8));
    expect(text.length).toBeLessThan(maxLogDataChars + 100);
  });

  it('relays at most the per-call number of messages, then one notice when warnings are wanted', () => {
    const { seen, relay } = relayAt('info');
    for (let i = 0; i < maxLogMessagesPerCall + 50; i++) relay.onMessage({ level: 'info', data: i });
    expect(seen).toHaveLength(maxLogMessagesPerCall + 1);
    expect(seen.at(-1)).toMatchObject({ level: 'warning', logger: 'gatehouse' });
    const quiet = relayAt('error');
    for (let i = 0; i < maxLogMessagesPerCall + 5; i++) quiet.relay.onMessage({ level: 'error', data: i });
    expect(quiet.seen).toHaveLength(maxLogMessagesPerCall);
  });

  it('toLogLevel() knows the eight MCP levels only', () => {
    expect(toLogLevel('notice')).toBe('notice');
    expect(toLogLevel('verbose')).toBeUndefined();
    expect(toLogLevel(undefined)).toBeUndefined();
  });
});
