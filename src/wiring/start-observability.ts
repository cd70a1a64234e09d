import {
  createAlertEngine,
  createGatewayMetrics,
  createLogger,
  createTelemetry,
  createUsageRollup,
  createWebhookSender,
  getSecretRegistry,
  instrumentUpstreamClient,
  type LogDestination,
  type Logger,
  observeVaultSecrets,
  registerConfigSecrets,
  registerTenantSecrets,
  type Telemetry,
  type WebhookSender,
} from '../audit/index.ts';
import { createGuardedFetch } from '../auth-server/index.ts';
import type { Clock, Config, TenantAlertRuleConfig, TenantConfig } from '../core/index.ts';
import {
  type AdminRoute,
  type AlertAdminOptions,
  type AlertRuleView,
  createAlertAdminRoutes,
  createMetricsRoute,
  createUsageAdminRoutes,
  type HttpRoute,
} from '../http/index.ts';
import type { UpstreamClient } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Adapters } from './adapters.ts';

export interface ObservabilityOptions {
  /** Where log lines go; default standard output. */
  readonly logDestination?: LogDestination;
  /** Whether a tenant is served now (tenants come and go at run time, issue 14); default: the config's tenants. */
  readonly hasTenant?: (tenant: string) => boolean;
}

export interface Observability {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** The upstream client to build the gateway over: traced and timed. */
  readonly upstream: UpstreamClient;
  /** The vault, registering every plaintext it handles as a secret to scrub (tokens when decrypted or stored). */
  readonly vault: Vault;
  /** Writes the pending daily usage counts when the oldest is at least `maxAgeMs` old (before a page reads them). */
  flushUsageOlderThan(maxAgeMs: number): Promise<void>;
  /** `/api/v1/tenants/:tenant/usage` and `/alerts/...`. */
  readonly adminRoutes: readonly AdminRoute[];
  /** The alert rules in force and each tenant's raised alerts (the admin API and the console's Alerts page). */
  readonly alertsView: AlertAdminOptions;
  /** `GET /metrics`. */
  readonly metricsRoute: HttpRoute;
  /**
   * A tenant's configuration changed (or was added) while the process runs: its secrets are scrubbed from now on
   * and its own alert rules replace the previous ones.
   */
  followTenant(tenant: TenantConfig): void;
  /** A tenant was removed: its own alert rules stop counting. */
  forgetTenant(tenantId: string): void;
  close(): Promise<void>;
}

/**
 * Logging, metrics, usage rollups, alerts and spans for one gateway process (issue 5). Registers the config's
 * secrets first, so that no log line written afterwards can contain one.
 */
export function startObservability(
  config: Config,
  adapters: Adapters,
  clock: Clock,
  options: ObservabilityOptions = {},
): Observability {
  const secrets = getSecretRegistry();
  registerConfigSecrets(config, secrets);
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    secrets,
    base: { service: 'gatehouse' },
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const metrics = createGatewayMetrics();
  const usage = createUsageRollup({
    repository: adapters.store.usage,
    clock,
    onError: (error) => logger.warn({ err: error }, 'usage rollup flush failed; counts kept for the next flush'),
  });
  const alertsConfig = config.alerts;
  // Every raised alert is stored with its tenant and outcome, for the admin API and the console (issue 14).
  const deliveries = adapters.store.alertDeliveries;
  const tenantOfAlert = new Map<string, string>();
  const settle = (id: string, outcome: 'delivered' | 'failed' | 'dropped') => {
    const tenant = tenantOfAlert.get(id);
    tenantOfAlert.delete(id);
    if (tenant === undefined) return;
    deliveries
      .setOutcome(tenant, id, outcome, clock.now())
      .catch((error: unknown) => logger.warn({ err: error, alertId: id }, 'alert outcome not stored'));
  };
  // Every webhook (the operator's, each tenant rule's) counts and stores what became of each alert it was given.
  const sending = {
    retries: alertsConfig.retries,
    maxQueue: alertsConfig.maxQueue,
    onDelivered: (id: string) => {
      metrics.alertDeliveries.inc({ outcome: 'delivered' });
      settle(id, 'delivered');
    },
    onDropped: (id: string, reason: 'failed' | 'dropped') => {
      metrics.alertDeliveries.inc({ outcome: reason });
      logger.warn({ alertId: id, reason }, 'alert webhook not delivered');
      settle(id, reason);
    },
  };
  const webhook =
    alertsConfig.webhookUrl !== undefined && alertsConfig.webhookSecret !== undefined
      ? createWebhookSender({ url: alertsConfig.webhookUrl, secret: alertsConfig.webhookSecret, ...sending })
      : undefined;
  // Each tenant's own rules (issue 14), as the process serves the tenant now; their webhooks go through the SSRF
  // guard (a tenant's user wrote the URL), one sender per (URL, secret).
  const tenantRules = new Map<string, readonly TenantAlertRuleConfig[]>(
    config.tenants.map((t) => [t.id, t.alertRules]),
  );
  const guardedFetch = createGuardedFetch({ allowPrivateHosts: config.unsafeAllowPrivateUpstreams });
  const tenantWebhooks = new Map<string, WebhookSender>();
  const webhookKey = (target: { readonly url: string; readonly secret: string }) =>
    `${target.url}\u0000${target.secret}`;
  /**
   * Closes the senders no rule names any more (a rule deleted, its URL or secret changed, its tenant removed): what
   * they still queue is sent within the close's wait, and a changed secret no longer leaves a sender behind.
   */
  const closeUnusedWebhooks = () => {
    const used = new Set<string>();
    for (const rules of tenantRules.values()) {
      for (const rule of rules) if (rule.webhook !== undefined) used.add(webhookKey(rule.webhook));
    }
    for (const [key, sender] of tenantWebhooks) {
      if (used.has(key)) continue;
      tenantWebhooks.delete(key);
      void sender.close(5_000);
    }
  };
  const tenantWebhookOf = (alert: { readonly tenant: string; readonly ruleId?: string }) => {
    const target = tenantRules.get(alert.tenant)?.find((r) => r.id === alert.ruleId)?.webhook;
    if (target === undefined) return undefined;
    const key = webhookKey(target);
    let sender = tenantWebhooks.get(key);
    if (sender === undefined) {
      sender = createWebhookSender({ url: target.url, secret: target.secret, fetch: guardedFetch, ...sending });
      tenantWebhooks.set(key, sender);
    }
    return sender;
  };
  const alerts = createAlertEngine({
    tenantRules: (tenant) => tenantRules.get(tenant) ?? [],
    thresholds: {
      ...alertsConfig,
      evaluateEveryMs: alertsConfig.evaluateEverySeconds * 1000,
      dedupMs: alertsConfig.dedupSeconds * 1000,
    },
    clock,
    onAlert: (alert) => {
      metrics.alerts.inc({ rule: alert.rule });
      logger.warn({ alert }, 'alert');
      // The operator's rules go to the operator's webhook, a tenant's own rules to the webhook of that rule.
      const target = alert.ruleId === undefined ? webhook : tenantWebhookOf(alert);
      if (target !== undefined) tenantOfAlert.set(alert.id, alert.tenant);
      // Recorded before it is sent, so a fast delivery finds its row to settle.
      void deliveries
        .record(alert.tenant, {
          alertId: alert.id,
          rule: alert.ruleId ?? alert.rule,
          about: alert.about,
          summary: alert.summary,
          observed: alert.observed,
          threshold: alert.threshold,
          raisedAt: Date.parse(alert.at),
          outcome: target === undefined ? 'logged' : 'queued',
        })
        .catch((error: unknown) => logger.warn({ err: error, alertId: alert.id }, 'alert not stored'))
        .finally(() => target?.send(alert.id, { type: 'gatehouse.alert', alert }));
    },
  });
  alerts.start();
  const telemetry = createTelemetry({ metrics, usage, alerts, logger });
  const hasTenant = options.hasTenant ?? ((tenant: string) => config.tenants.some((t) => t.id === tenant));
  const alertsView: AlertAdminOptions = {
    hasTenant,
    rules: alertRulesOf(alertsConfig),
    windowSeconds: alertsConfig.evaluateEverySeconds,
    dedupSeconds: alertsConfig.dedupSeconds,
    webhookOrigin: alertsConfig.webhookUrl === undefined ? null : new URL(alertsConfig.webhookUrl).origin,
    recent: (tenant, limit) => deliveries.recent(tenant, limit),
  };
  return {
    logger,
    telemetry,
    upstream: instrumentUpstreamClient(adapters.upstream, telemetry, logger),
    vault: observeVaultSecrets(adapters.vault, secrets),
    flushUsageOlderThan: (maxAgeMs) => usage.flushOlderThan(maxAgeMs),
    adminRoutes: [
      ...createUsageAdminRoutes({
        hasTenant,
        readUsage: (tenant, from, to) => adapters.store.usage.query(tenant, from, to),
        flush: () => usage.flush(),
        today: () => new Date(clock.now()).toISOString().slice(0, 10),
      }),
      ...createAlertAdminRoutes(alertsView),
    ],
    alertsView,
    metricsRoute: createMetricsRoute({
      render: () => secrets.scrub(metrics.render()),
      tokens: [config.adminToken, config.metricsToken],
    }),
    followTenant(tenant) {
      registerTenantSecrets(tenant, secrets);
      tenantRules.set(tenant.id, tenant.alertRules);
      closeUnusedWebhooks();
    },
    forgetTenant(tenantId) {
      tenantRules.delete(tenantId);
      closeUnusedWebhooks();
    },
    async close() {
      await telemetry.close();
      await Promise.all([webhook?.close(), ...[...tenantWebhooks.values()].map((sender) => sender.close())]);
    },
  };
}

/** The alert rules of the config, as the admin API shows them (docs/configuration.md, "Alerts"). */
function alertRulesOf(a: Config['alerts']): AlertRuleView[] {
  return [
    {
      rule: 'call_volume',
      description: `calls of one tool in a window above this many times its rolling baseline, and at least ${a.volumeMinCalls} calls`,
      threshold: a.volumeFactor,
    },
    {
      rule: 'upstream_errors',
      description: 'upstream failures of one service in a window',
      threshold: a.upstreamErrors,
    },
    { rule: 'policy_denials', description: 'policy denials of one client key in a window', threshold: a.denials },
    {
      rule: 'refresh_failures',
      description: 'failed token refreshes of one service in a window',
      threshold: a.refreshFailures,
    },
    {
      rule: 'needs_reauth',
      description: 'a connection needs its user to connect again (raised at once)',
      threshold: 1,
    },
    {
      rule: 'refresh_recovered',
      description: 'the first good refresh after a refresh_failures alert (raised at once)',
      threshold: 1,
    },
  ];
}
