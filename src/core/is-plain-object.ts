/** A JSON object: not null, not an array (a value parsed from JSON or received from a peer). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
