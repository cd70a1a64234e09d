import { type AnswerBytes, countAnswerBytes, type ResponseCap } from './read-capped.ts';

/**
 * Sees each chunk of an event stream as it arrives, before anything reads it: an error returned cuts the stream off
 * (its connection destroyed) and is what its reader gets.
 */
export type StreamMeter = (chunk: Uint8Array) => Error | undefined;

/** A stream of one answer: its bytes count with those of the answer's other streams (`count`) against `cap`. */
export function meterAnswerStream(count: AnswerBytes, cap: ResponseCap): StreamMeter {
  return (chunk) => countAnswerBytes(count, chunk.byteLength, cap);
}

/** The bytes a session's standalone streams brought in the current window, kept across the streams it reopens. */
export interface NotificationVolume {
  windowStartMs: number;
  bytes: number;
}

/** The window over which a standalone stream's bytes are bounded. */
export const notificationWindowMs = 60_000;

/**
 * A stream of server messages related to no request (the standalone GET stream of a 2025-era session). It lives as
 * long as its session, so no total fits it; instead each event may be at most `maxResponseBytes` (an event without
 * end grows in the reader's buffer: that is the memory bound), and all events together at most `maxResponseBytes`
 * per minute (`volume`, shared by the session's streams so that reopening one does not reset it). Events are told
 * apart by their blank line (`\n\n`, `\r\n\r\n`, `\r\r`); an event separated otherwise counts with the next one,
 * which can only cut off sooner.
 */
export function meterNotificationStream(
  cap: ResponseCap,
  volume: NotificationVolume,
  now: () => number = Date.now,
): StreamMeter {
  let eventBytes = 0;
  // The last two bytes of the previous chunk: a blank line may be split between two chunks.
  let tail = Buffer.alloc(0);
  return (chunk) => {
    const at = now();
    if (at - volume.windowStartMs >= notificationWindowMs) {
      volume.windowStartMs = at;
      volume.bytes = 0;
    }
    volume.bytes += chunk.byteLength;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let end = lastEventEnd(bytes);
    if (end === -1) {
      const seam = Buffer.concat([tail, bytes.subarray(0, 2)]);
      const seamEnd = lastEventEnd(seam);
      if (seamEnd > tail.length) end = seamEnd - tail.length;
    }
    eventBytes = end === -1 ? eventBytes + bytes.length : bytes.length - end;
    tail = Buffer.from((bytes.length >= 2 ? bytes : Buffer.concat([tail, bytes])).subarray(-2));
    return volume.bytes > cap.maxResponseBytes || eventBytes > cap.maxResponseBytes ? cap.tooLarge() : undefined;
  };
}

const blankLines = [Buffer.from('\n\n'), Buffer.from('\n\r\n'), Buffer.from('\r\r')];

/** Where the last event of `bytes` ends (the index after its blank line), or -1. */
function lastEventEnd(bytes: Buffer): number {
  let end = -1;
  for (const blank of blankLines) {
    const found = bytes.lastIndexOf(blank);
    if (found !== -1) end = Math.max(end, found + blank.length);
  }
  return end;
}
