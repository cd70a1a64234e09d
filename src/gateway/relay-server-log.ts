import { scrubFederated } from '../shaping/index.ts';
import { type McpCallOptions, type McpLogLevel, type McpLogMessage, mcpLogLevels } from '../upstream/index.ts';
import type { CallRelay } from './contract.ts';

/** Log messages relayed per call; the server's further messages are dropped (one notice says so). */
export const maxLogMessagesPerCall = 100;
/** Characters of a message's data (as JSON) relayed; longer data is cut to a text of this length and a note. */
export const maxLogDataChars = 8_192;
const maxLoggerChars = 200;

const severity = new Map<unknown, number>(mcpLogLevels.map((level, index) => [level, index]));

/**
 * What the gateway asks a federated server for during one call when its client set a log level (see
 * `CallRelay.log`), and how each message the server sends reaches the client: only a known level at the requested
 * one or more severe (a 2025-era server logs at its session's level, not the call's), its data and logger scrubbed
 * of every secret `scrub` knows (the call's credential, read when the message arrives: a refresh may have changed
 * it), the data cut to `maxLogDataChars` once scrubbed (cut after, so no part of a secret survives), at most
 * `maxLogMessagesPerCall` messages, then one `warning` from logger `gatehouse` when the level admits it. Nothing is
 * buffered: each message is passed on (or dropped) as it arrives.
 */
export function relayServerLog(
  log: NonNullable<CallRelay['log']>,
  scrub: () => (text: string) => string,
): NonNullable<McpCallOptions['log']> {
  const threshold = severity.get(log.level) ?? 0;
  let relayed = 0;
  let noticed = false;
  return {
    level: log.level,
    onMessage(message: McpLogMessage) {
      const rank = severity.get(message.level);
      if (rank === undefined || rank < threshold) return;
      if (relayed >= maxLogMessagesPerCall) {
        if (!noticed && (severity.get('warning') ?? 0) >= threshold) {
          log.onMessage({
            level: 'warning',
            logger: 'gatehouse',
            data: `The server sent more than ${maxLogMessagesPerCall} log messages during this call; the rest are not relayed`,
          });
        }
        noticed = true;
        return;
      }
      relayed++;
      const scrubbing = scrub();
      const logger =
        typeof message.logger === 'string' ? scrubbing(message.logger).slice(0, maxLoggerChars) : undefined;
      log.onMessage({
        level: message.level as McpLogLevel,
        ...(logger === undefined ? {} : { logger }),
        data: toBoundedData(scrubFederated(message.data ?? null, scrubbing)),
      });
    },
  };
}

/** A client's log level (the SDK checked the 2026-07-28 envelope; anything else is no level). */
export function toLogLevel(value: unknown): McpLogLevel | undefined {
  return severity.has(value) ? (value as McpLogLevel) : undefined;
}

function toBoundedData(data: unknown): unknown {
  const json = JSON.stringify(data) ?? 'null';
  if (json.length <= maxLogDataChars) return data;
  return `${json.slice(0, maxLogDataChars)}... (cut by the gateway: the data was ${json.length} characters)`;
}
