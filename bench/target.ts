/** The systems under measurement, in the order rounds visit them. */
export const targetNames = ['direct', 'raw', 'sdk', 'gatehouse'] as const;
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
  /** How the target runs, when worth saying (printed and written to LATEST.md). */
  note?: string;
};
