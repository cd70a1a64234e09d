import { pino } from 'pino';
import { getSecretRegistry, type SecretRegistry } from './create-secret-registry.ts';
import { formatLogLine } from './format-log-line.ts';
import { toSafeError } from './to-safe-error.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Where log lines go: anything with `write(line)` (a stream, a file, a test array). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Default `process.stdout`. */
  readonly destination?: LogDestination;
  /** Secrets scrubbed by value from every line. Default: the process-wide registry (`registerSecret`). */
  readonly secrets?: SecretRegistry;
  /** Fields on every line (e.g. `{ service: 'gatehouse' }`). */
  readonly base?: Readonly<Record<string, unknown>>;
  /** `pretty` writes one readable line per record (`formatLogLine`); `auto` does so when standard output is a TTY. */
  readonly format?: 'auto' | 'json' | 'pretty';
}

/** The pino logger Gatehouse uses (a `HttpLogger` and more). */
export type Logger = pino.Logger;

/** Field names (any case) whose values are never logged: credentials in headers, bodies and options. */
const sensitiveKeys: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'api_key',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
  'access_token',
  'accesstoken',
  'refresh_token',
  'refreshtoken',
  'id_token',
  'client_secret',
  'clientsecret',
  'password',
  'passwd',
  'secret',
  'token',
  'admintoken',
  'metricstoken',
  'masterkey',
  'private_key',
  'code_verifier',
]);

/** Query parameters (any case) whose values are never logged, in any URL anywhere in a line. */
const sensitiveQuery =
  /([?&;](?:access_token|refresh_token|id_token|code|code_verifier|client_secret|api_key|apikey|api-key|key|token|password|secret|signature|sig|state)=)[^&#\s"\\]*/gi;

const redacted = '[REDACTED]';
const maxDepth = 8;
const maxItems = 200;

/**
 * Creates the structured logger (pino, one JSON object per line). Redaction happens twice:
 * - by path: every field named like a credential (`Authorization`, `Cookie`, `X-Api-Key`, `client_secret` ...,
 *   any case, at any depth) is replaced, and every Error becomes a safe object (`toSafeError`, LG-02);
 * - by value, on the finished line: every form of every registered secret (raw, JSON-escaped, URL-encoded, hex,
 *   base64 at three offsets) and the values of credential query parameters (`?access_token=`, `code=` ...) in any
 *   URL are replaced (LG-03/05/06).
 * CR and LF inside values are JSON-escaped by pino, so one record is always one line (LG-07).
 */
export function createLogger(options: LoggerOptions): Logger {
  const registry = options.secrets ?? getSecretRegistry();
  const target = options.destination ?? process.stdout;
  const pretty =
    options.format === 'pretty' || (options.format === 'auto' && target === process.stdout && process.stdout.isTTY);
  const destination = {
    write(line: string) {
      const scrubbed = scrubLine(line, registry);
      target.write(pretty ? formatLogLine(scrubbed) : scrubbed);
    },
  };
  return pino(
    {
      level: options.level,
      base: { ...(options.base ?? {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: toSafeError, error: toSafeError },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactFields(object, 0) as Record<string, unknown>,
        bindings: (bindings) => redactFields(bindings, 0) as Record<string, unknown>,
      },
    },
    destination,
  );
}

/** Value redaction of one serialised line (exported for the other sinks that write text). */
export function scrubLine(line: string, registry: SecretRegistry = getSecretRegistry()): string {
  const scrubbed = registry.scrub(line);
  return scrubbed.includes('=') ? scrubbed.replace(sensitiveQuery, `$1${redacted}`) : scrubbed;
}

function redactFields(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return toSafeError(value);
  if (depth >= maxDepth) return '[Object]';
  if (Array.isArray(value)) return value.slice(0, maxItems).map((item) => redactFields(item, depth + 1));
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (isHeaderList(value)) return redactFields(Object.fromEntries(value as Iterable<[string, string]>), depth);
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const key of Object.keys(value)) {
    if (count++ >= maxItems) break;
    const field = (value as Record<string, unknown>)[key];
    out[key] = sensitiveKeys.has(key.toLowerCase()) && field !== undefined ? redacted : redactFields(field, depth + 1);
  }
  return out;
}

function isHeaderList(value: object): boolean {
  return typeof Headers !== 'undefined' && value instanceof Headers;
}
