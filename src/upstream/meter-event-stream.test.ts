import { describe, expect, it } from 'vitest';
import { meterAnswerStream, meterNotificationStream, notificationWindowMs } from './meter-event-stream.ts';

class TooLarge extends Error {}
const cap = { maxResponseBytes: 100, tooLarge: () => new TooLarge('too large') };
const bytes = (text: string) => new TextEncoder().encode(text);

describe('meterAnswerStream()', () => {
  it('counts the streams of one answer together', () => {
    const count = { bytes: 0 };
    expect(meterAnswerStream(count, cap)(bytes('x'.repeat(60)))).toBeUndefined();
    expect(meterAnswerStream(count, cap)(bytes('x'.repeat(41)))).toBeInstanceOf(TooLarge);
  });
});

describe('meterNotificationStream()', () => {
  const event = (size: number) => `data: ${'x'.repeat(size - 8)}\n\n`;

  it('lets events each within the cap through, until their volume in a minute passes it', () => {
    let now = 0;
    const meter = meterNotificationStream(cap, { windowStartMs: 0, bytes: 0 }, () => now);
    expect(meter(bytes(event(40)))).toBeUndefined();
    expect(meter(bytes(event(40)))).toBeUndefined();
    expect(meter(bytes(event(40)))).toBeInstanceOf(TooLarge);
    now = notificationWindowMs;
    expect(meter(bytes(event(40)))).toBeUndefined();
  });

  it('keeps the volume across the streams of a session (reopening one does not reset it)', () => {
    const volume = { windowStartMs: 0, bytes: 0 };
    expect(meterNotificationStream(cap, volume, () => 1)(bytes(event(60)))).toBeUndefined();
    expect(meterNotificationStream(cap, volume, () => 2)(bytes(event(60)))).toBeInstanceOf(TooLarge);
  });

  it('cuts off one event past the cap, counted across chunks, whatever the volume allows', () => {
    let now = 0;
    const meter = meterNotificationStream(cap, { windowStartMs: 0, bytes: 0 }, () => now);
    expect(meter(bytes('data: 1\n'))).toBeUndefined();
    now += notificationWindowMs;
    expect(meter(bytes('data: 2\n'))).toBeUndefined();
    now += notificationWindowMs;
    expect(meter(bytes(`data: ${'x'.repeat(90)}\n`))).toBeInstanceOf(TooLarge);
  });

  it('finds an event end split between chunks, for LF, CRLF and CR line ends', () => {
    for (const [first, second] of [
      ['data: a\n', '\n'],
      ['data: a\r\n\r', '\n'],
      ['data: a\r', '\r'],
    ] as const) {
      let now = 0;
      const meter = meterNotificationStream(cap, { windowStartMs: 0, bytes: 0 }, () => now);
      expect(meter(bytes(`${'x'.repeat(80)}${first}`))).toBeUndefined();
      expect(meter(bytes(second))).toBeUndefined();
      now += notificationWindowMs;
      // A new event: the 80 bytes before the split blank line no longer count.
      expect(meter(bytes(`data: ${'y'.repeat(80)}`))).toBeUndefined();
    }
  });
});
