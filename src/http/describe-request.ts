import type { IncomingMessage, ServerResponse } from 'node:http';
import { responseOutcomeOf } from '../core/index.ts';

/** Query parameters (any case) whose values never appear in a request log line. */
const secretParameter =
  /^(access_token|refresh_token|id_token|code|code_verifier|client_secret|api_key|apikey|api-key|key|token|password|secret|signature|sig|state)$/i;

/** What the one log line of an HTTP request says (LG-03: no `Authorization`, no `?access_token=` value). */
export interface RequestLogEntry extends Record<string, unknown> {
  readonly requestId: string;
  readonly method: string;
  /** The request target with the values of credential-like query parameters replaced. */
  readonly path: string;
  readonly status: number;
  readonly latencyMs: number;
  /** Why an error response was one (`unauthenticated`, `forbidden_origin` ...), when its writer noted it. */
  readonly code?: string;
  readonly reason?: string;
}

/** Builds the request log entry of a finished request. */
export function describeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  latencyMs: number,
): RequestLogEntry {
  const outcome = res.statusCode >= 400 ? responseOutcomeOf(res) : undefined;
  return {
    requestId,
    method: req.method ?? 'GET',
    path: redactTarget(req.url ?? '/'),
    status: res.statusCode,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    ...(outcome === undefined
      ? {}
      : outcome.reason === undefined
        ? { code: outcome.code }
        : { code: outcome.code, reason: outcome.reason }),
  };
}

/** Paths whose segment after the prefix is a bearer credential (an invite link is the invite). */
const secretPathSegment = /^(\/invite\/)[^/?#]+/i;

/**
 * `/x?access_token=abc&page=2` -> `/x?access_token=[REDACTED]&page=2`; `/invite/<token>` -> `/invite/[REDACTED]`;
 * the rest of the path is kept as sent.
 */
export function redactTarget(sent: string): string {
  const target = sent.replace(secretPathSegment, '$1[REDACTED]');
  const query = target.indexOf('?');
  if (query === -1) return target;
  const pairs = target
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals === -1 ? pair : pair.slice(0, equals);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {}
      return secretParameter.test(name.trim()) ? `${rawName}=[REDACTED]` : pair;
    });
  return `${target.slice(0, query)}?${pairs.join('&')}`;
}
