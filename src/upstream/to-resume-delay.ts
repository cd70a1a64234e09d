/**
 * The shortest wait before an MCP server's event stream is reopened or resumed, whatever `retry` the server asks: a
 * server asking for 0 and ending each stream at once had the gateway reconnect hundreds of times a second (a direct
 * call's answer stream about 240 times; the SDK client's streams without end, as its retry count starts from zero
 * with each stream that opens).
 */
export const minResumeDelayMs = 100;
/** The longest wait a Node timer holds: a longer one fires after 1 ms (`TimeoutOverflowWarning`). */
const maxTimerDelayMs = 2_147_483_647;

/**
 * The wait before reopening or resuming an event stream, given the one asked for (the server's `retry`, else a
 * backoff): at least `minResumeDelayMs`, and at most what a timer can wait (a server asking for more would
 * otherwise be reconnected to at once).
 */
export function toResumeDelay(askedMs: number): number {
  return Math.min(Math.max(askedMs, minResumeDelayMs), maxTimerDelayMs);
}
