import { createHash } from 'node:crypto';
import type { Clock } from '../core/index.ts';
import type { ToolCallAuditEntry } from './create-audit-log.ts';

export type AlertRule =
  | 'call_volume'
  | 'upstream_errors'
  | 'policy_denials'
  | 'refresh_failures'
  | 'refresh_recovered'
  | 'needs_reauth'
  /** One of the tenant's own rules (`ruleId` names it). */
  | 'tenant_rule';

/** What a tenant's own rule counts, per tool, service or client key. */
export type TenantAlertMetric = 'tool_calls' | 'upstream_errors' | 'policy_denials' | 'refresh_failures';

/** A tenant's own alert rule as the engine counts it (the tenant document's `alertRules`, issue 14). */
export interface TenantAlertRule {
  readonly id: string;
  readonly metric: TenantAlertMetric;
  readonly threshold: number;
  readonly windowSeconds: number;
  readonly enabled: boolean;
}

/** Thresholds (config `alerts`, see docs/configuration.md). */
export interface AlertThresholds {
  /** Length of one evaluation window, ms. */
  readonly evaluateEveryMs: number;
  /** The same alert (rule + tenant + subject of the alert) is raised at most once per this many ms. */
  readonly dedupMs: number;
  /** Calls of a (tenant, tool) in a window above `volumeFactor` x its rolling baseline, and at least `volumeMinCalls`. */
  readonly volumeFactor: number;
  readonly volumeMinCalls: number;
  /** Upstream failures (`upstream_*`, `circuit_open`) of a tenant's service in one window. */
  readonly upstreamErrors: number;
  /** Policy denials of one client key in one window. */
  readonly denials: number;
  /** Failed refreshes of a (tenant, service) in one window. */
  readonly refreshFailures: number;
}

/** One alert, as logged and as the webhook body. Ids and counts only: never arguments, bodies or credentials. */
export interface Alert {
  readonly id: string;
  readonly rule: AlertRule;
  /** The tenant's own rule that raised it (`rule` is then `tenant_rule`). */
  readonly ruleId?: string;
  readonly tenant: string;
  /** What the alert is about: `tool:<name>`, `service:<id>`, `key:<name>`, `connection:<service>/<subject>`. */
  readonly about: string;
  readonly at: string;
  readonly summary: string;
  readonly observed: number;
  readonly threshold: number;
}

export interface AlertEngineOptions {
  readonly thresholds: AlertThresholds;
  readonly clock: Clock;
  /** Called for every raised alert (after deduplication): log it, send the webhook, count it. */
  readonly onAlert: (alert: Alert) => void;
  /** The tenant's own rules in force now (they change while the process runs); absent: none. */
  readonly tenantRules?: (tenant: string) => readonly TenantAlertRule[];
}

export interface AlertEngine {
  observeToolCall(entry: ToolCallAuditEntry): void;
  observeRefresh(event: { readonly tenant: string; readonly service: string; readonly ok: boolean }): void;
  observeConnectionStatus(event: {
    readonly tenant: string;
    readonly service: string;
    readonly subject: string;
    readonly status: string;
  }): void;
  /** Closes the current window: evaluates the windowed rules and starts a new window. Returns raised alerts. */
  evaluate(): Alert[];
  /** Starts the evaluation timer (every `evaluateEveryMs`). */
  start(): void;
  close(): void;
}

/** Keys tracked per window and per baseline at most (beyond it, new keys are ignored until the next window). */
const maxKeys = 20_000;
/** Weight of the newest window in the rolling baseline (exponentially weighted moving average). */
const baselineWeight = 0.2;
/** Windows observed before the volume rule may fire (a fresh process has no baseline). */
const warmupWindows = 3;

/**
 * Alert rules over in-memory counters, evaluated per window: call volume far above the rolling baseline of a
 * (tenant, tool), bursts of upstream errors, repeated policy denials, repeated refresh failures; a connection
 * going `needs_reauth` alerts at once, and a good refresh after a `refresh_failures` alert raises
 * `refresh_recovered` (so whoever was told it broke is told it works again). Deduplication keeps one alert per (rule, tenant, subject) per `dedupMs`.
 */
export function createAlertEngine(options: AlertEngineOptions): AlertEngine {
  const { thresholds: t, clock } = options;
  let volume = new Map<string, number>();
  let upstream = new Map<string, number>();
  let denials = new Map<string, number>();
  let refreshes = new Map<string, number>();
  const baseline = new Map<string, number>();
  const lastRaised = new Map<string, number>();
  // (tenant, service) keys whose refresh_failures alert went out: their next good refresh says they recovered.
  const failing = new Set<string>();
  let windows = 0;
  let timer: NodeJS.Timeout | undefined;

  const bump = (map: Map<string, number>, key: string) => {
    const count = map.get(key);
    if (count !== undefined) map.set(key, count + 1);
    else if (map.size < maxKeys) map.set(key, 1);
  };

  const raise = (
    rule: AlertRule,
    tenant: string,
    about: string,
    observed: number,
    threshold: number,
    summary: string,
  ) => {
    const key = `${rule}\u0000${tenant}\u0000${about}`;
    const now = clock.now();
    const last = lastRaised.get(key);
    if (last !== undefined && now - last < t.dedupMs) return undefined;
    if (lastRaised.size >= maxKeys) {
      for (const [k, at] of lastRaised) if (now - at >= t.dedupMs) lastRaised.delete(k);
      if (lastRaised.size >= maxKeys) return undefined;
    }
    lastRaised.set(key, now);
    const alert: Alert = {
      id: createHash('sha256').update(`${key}\u0000${now}`).digest('hex').slice(0, 20),
      rule,
      tenant,
      about,
      at: new Date(now).toISOString(),
      summary,
      observed,
      threshold,
    };
    options.onAlert(alert);
    return alert;
  };

  const split = (key: string) => key.split('\u0000') as [string, string];

  // A tenant rule counts per (rule, subject) in a window that opens with its first event; it is raised at most
  // once per window, as soon as the count reaches the threshold (no wait for the evaluation timer).
  const tenantWindows = new Map<string, { until: number; count: number; raised: boolean }>();
  const countTenant = (tenant: string, metric: TenantAlertMetric, about: string, label: string) => {
    const rules = options.tenantRules?.(tenant);
    if (rules === undefined || rules.length === 0) return;
    const now = clock.now();
    for (const rule of rules) {
      if (!rule.enabled || rule.metric !== metric) continue;
      const key = `${tenant}\u0000${rule.id}\u0000${about}`;
      let window = tenantWindows.get(key);
      if (window === undefined || now >= window.until) {
        if (window === undefined && tenantWindows.size >= maxKeys) {
          for (const [k, w] of tenantWindows) if (now >= w.until) tenantWindows.delete(k);
          if (tenantWindows.size >= maxKeys) continue;
        }
        window = { until: now + rule.windowSeconds * 1000, count: 0, raised: false };
        tenantWindows.set(key, window);
      }
      window.count++;
      if (window.raised || window.count < rule.threshold) continue;
      window.raised = true;
      options.onAlert({
        id: createHash('sha256').update(`${key}\u0000${now}`).digest('hex').slice(0, 20),
        rule: 'tenant_rule',
        ruleId: rule.id,
        tenant,
        about,
        at: new Date(now).toISOString(),
        summary: `Rule ${rule.id}: ${window.count} ${label} within ${rule.windowSeconds} s`,
        observed: window.count,
        threshold: rule.threshold,
      });
    }
  };

  const engine: AlertEngine = {
    observeToolCall(entry) {
      if (entry.code !== 'tool_not_found') {
        bump(volume, `${entry.tenant}\u0000${entry.tool}`);
        countTenant(entry.tenant, 'tool_calls', `tool:${entry.tool}`, `calls of ${entry.tool}`);
      }
      if (entry.code !== null && (entry.code.startsWith('upstream_') || entry.code === 'circuit_open')) {
        // Tool names are `{service}_{operation}` and service ids have no underscore.
        const service = entry.tool.split('_')[0] as string;
        bump(upstream, `${entry.tenant}\u0000${service}`);
        countTenant(entry.tenant, 'upstream_errors', `service:${service}`, `upstream failures calling ${service}`);
      }
      if (entry.decision === 'deny') {
        bump(denials, `${entry.tenant}\u0000${entry.clientKey}`);
        countTenant(
          entry.tenant,
          'policy_denials',
          `key:${entry.clientKey}`,
          `denied calls by client key ${entry.clientKey}`,
        );
      }
    },
    observeRefresh(event) {
      const key = `${event.tenant}\u0000${event.service}`;
      if (!event.ok) {
        bump(refreshes, key);
        countTenant(
          event.tenant,
          'refresh_failures',
          `service:${event.service}`,
          `failed token refreshes for ${event.service}`,
        );
      } else if (failing.delete(key)) {
        raise(
          'refresh_recovered',
          event.tenant,
          `service:${event.service}`,
          1,
          1,
          `Token refreshes for ${event.service} succeed again`,
        );
      }
    },
    observeConnectionStatus(event) {
      if (event.status !== 'needs_reauth') return;
      raise(
        'needs_reauth',
        event.tenant,
        `connection:${event.service}/${event.subject}`,
        1,
        1,
        `Connection to ${event.service} for ${event.subject} needs to be authorised again`,
      );
    },
    evaluate() {
      const raised: (Alert | undefined)[] = [];
      windows++;
      for (const [key, count] of volume) {
        const [tenant, tool] = split(key);
        const base = baseline.get(key) ?? 0;
        const limit = Math.max(t.volumeMinCalls, t.volumeFactor * base);
        if (windows > warmupWindows && count >= limit) {
          raised.push(
            raise(
              'call_volume',
              tenant,
              `tool:${tool}`,
              count,
              Math.ceil(limit),
              `${count} calls of ${tool} in one window, baseline ${base.toFixed(1)}`,
            ),
          );
        }
      }
      for (const key of new Set([...baseline.keys(), ...volume.keys()])) {
        const next = (1 - baselineWeight) * (baseline.get(key) ?? 0) + baselineWeight * (volume.get(key) ?? 0);
        if (next < 0.01) baseline.delete(key);
        else if (baseline.has(key) || baseline.size < maxKeys) baseline.set(key, next);
      }
      for (const [key, count] of upstream) {
        const [tenant, service] = split(key);
        if (count >= t.upstreamErrors)
          raised.push(
            raise(
              'upstream_errors',
              tenant,
              `service:${service}`,
              count,
              t.upstreamErrors,
              `${count} upstream failures calling ${service} in one window`,
            ),
          );
      }
      for (const [key, count] of denials) {
        const [tenant, clientKey] = split(key);
        if (count >= t.denials)
          raised.push(
            raise(
              'policy_denials',
              tenant,
              `key:${clientKey}`,
              count,
              t.denials,
              `${count} denied calls by client key ${clientKey} in one window`,
            ),
          );
      }
      for (const [key, count] of refreshes) {
        const [tenant, service] = split(key);
        if (count >= t.refreshFailures) {
          if (failing.size < maxKeys) failing.add(key);
          raised.push(
            raise(
              'refresh_failures',
              tenant,
              `service:${service}`,
              count,
              t.refreshFailures,
              `${count} failed token refreshes for ${service} in one window`,
            ),
          );
        }
      }
      volume = new Map();
      upstream = new Map();
      denials = new Map();
      refreshes = new Map();
      return raised.filter((a): a is Alert => a !== undefined);
    },
    start() {
      if (timer) return;
      timer = setInterval(() => engine.evaluate(), t.evaluateEveryMs);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  return engine;
}
