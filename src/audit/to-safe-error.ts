import { isGatehouseError } from '../core/index.ts';

/** What a log line may say about an error. */
export interface SafeError {
  readonly type: string;
  readonly code?: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** Stack frames only (`at ...` lines): the first line of a stack repeats the message. */
  readonly stack?: string;
  readonly cause?: { readonly type: string; readonly code?: string };
}

const identifier = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const maxMessageChars = 500;
const maxFrames = 12;

/**
 * Turns anything thrown into a plain object with only a type, a code, a message and stack frames (LG-02). Every
 * other property of the original (request and response objects, headers, options, bodies, the causes' messages)
 * is dropped, so an HTTP client error that carries the request's `Authorization` header loses it here, before any
 * logger serialises it. A GatehouseError keeps its `details`, which are non-secret by contract. Messages are
 * still scrubbed by value in the log line (see `createLogger`).
 */
export function toSafeError(value: unknown): SafeError {
  if (isGatehouseError(value)) {
    return { type: 'GatehouseError', code: value.code, message: value.message, details: value.details };
  }
  if (value === null || typeof value !== 'object') {
    return { type: typeof value, message: typeof value === 'string' ? value.slice(0, maxMessageChars) : '' };
  }
  const error = value as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown; cause?: unknown };
  const type = typeof error.name === 'string' && identifier.test(error.name) ? error.name : 'Error';
  const code = typeof error.code === 'string' && identifier.test(error.code) ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message.slice(0, maxMessageChars) : '';
  const frames =
    typeof error.stack === 'string'
      ? error.stack
          .split('\n')
          .filter((line) => line.startsWith('    at '))
          .slice(0, maxFrames)
          .join('\n')
      : '';
  const safe: { -readonly [K in keyof SafeError]: SafeError[K] } = { type, message };
  if (code !== undefined) safe.code = code;
  if (frames !== '') safe.stack = frames;
  if (error.cause !== undefined && error.cause !== null && typeof error.cause === 'object') {
    const cause = error.cause as { name?: unknown; code?: unknown };
    safe.cause = {
      type: typeof cause.name === 'string' && identifier.test(cause.name) ? cause.name : 'Error',
      ...(typeof cause.code === 'string' && identifier.test(cause.code) ? { code: cause.code } : {}),
    };
  }
  return safe;
}
