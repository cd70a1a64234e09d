import { createHash, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../core/index.ts';
import type { HttpRoute } from './create-router.ts';

export interface MetricsRouteOptions {
  /** Prometheus text of every metric. */
  render(): string;
  /**
   * Bearer tokens accepted (the admin token and, if set, `metricsToken`). With none, `/metrics` answers 401 to
   * everything: metrics name tenants and tools, so they are not public.
   */
  readonly tokens: readonly (string | undefined)[];
}

/**
 * `GET /metrics` in the Prometheus text format, behind `Authorization: Bearer <token>` compared in constant time
 * over SHA-256 digests. No Origin check (scrapers send none); the body never holds a secret (labels are ids).
 */
export function createMetricsRoute(options: MetricsRouteOptions): HttpRoute {
  const accepted = options.tokens.filter((t): t is string => t !== undefined && t !== '').map(digest);
  return {
    method: 'GET',
    path: '/metrics',
    checkOrigin: false,
    handle: ({ req, res }) => {
      const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(req.headers.authorization ?? '');
      const presented = match?.[1] === undefined ? undefined : digest(match[1]);
      let ok = false;
      for (const token of accepted) if (presented !== undefined && timingSafeEqual(presented, token)) ok = true;
      if (!ok)
        throw new GatehouseError('unauthenticated', 'Metrics need Authorization: Bearer <metrics or admin token>');
      const body = options.render();
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
    },
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
