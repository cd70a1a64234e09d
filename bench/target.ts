/**
 * The systems under measurement, in the order rounds visit them; `peer` only in S13 (it needs a real client);
 * `gatehouse-oauth` is the gatehouse process called with an OAuth access token instead of its client key.
 */
export const targetNames = ['direct', 'raw', 'sdk', 'gatehouse', 'gatehouse-oauth', 'peer'] as const;
export type TargetName = (typeof targetNames)[number];

/** One system the load generator can drive; `unavailable` says why it is skipped (rows print "not available"). */
export type Target = {
  name: TargetName;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** The process serving the target, for CPU accounting; undefined for `direct`. */
  pid?: number;
  unavailable?: string;
  /** The tool a real MCP client calls (S13); `toolCall`'s `upstream_getItem` when not set. */
  tool?: string;
  /** How the target runs, when worth saying (printed and written to LATEST.md). */
  note?: string;
};
