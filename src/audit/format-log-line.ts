/** Fields the pretty form leaves out: constant per process, or already shown at the start of the line. */
const hidden: ReadonlySet<string> = new Set(['time', 'level', 'msg', 'service', 'pid', 'hostname']);

const levelLabels: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};

/**
 * Turns one JSON log line (already redacted) into the human-readable form for a terminal:
 * `12:30:01.042 INFO  tool call tenant=demo tool=tasks_listTasks decision=allow upstreamStatus=200 latencyMs=3.1`.
 * Values are printed as JSON when they are not plain words, so a value can never forge another line or field. A line
 * that is not JSON is passed through unchanged.
 */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return line;
  const time = typeof record['time'] === 'string' ? record['time'].slice(11, 23) : '';
  const level = levelLabels[String(record['level'])] ?? String(record['level']).toUpperCase();
  const parts = [time, level, typeof record['msg'] === 'string' ? toWord(record['msg'], true) : ''];
  for (const [key, value] of Object.entries(record)) {
    if (hidden.has(key) || value === undefined || value === null) continue;
    parts.push(`${key}=${toWord(value, false)}`);
  }
  return `${parts.filter((part) => part !== '').join(' ')}\n`;
}

function toWord(value: unknown, message: boolean): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') {
    if (/^[\w.:/@+-]*$/.test(value) && value !== '') return value;
    // A message may hold spaces; anything with a control character is quoted, so a line stays one line.
    if (message && !/[\p{Cc}\u2028\u2029]/u.test(value)) return value;
    return JSON.stringify(value);
  }
  return JSON.stringify(value);
}
