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
  type Telemetry,
} from '../audit/index.ts';
import type { Clock, Config } from '../core/index.ts';
import { type AdminRoute, createMetricsRoute, createUsageAdminRoutes, type HttpRoute } from '../http/index.ts';
import type { UpstreamClient } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Adapters } from './adapters.ts';

export interface ObservabilityOptions {
  /** Where log lines go; default standard output. */
  readonly logDestination?: LogDestination;
}

export interface Observability {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** The upstream client to build the gateway over: traced and timed. */
  readonly upstream: UpstreamClient;
  /** The vault, registering every plaintext it handles as a secret to scrub (tokens when decrypted or stored). */
  readonly vault: Vault;
  /** Writes the pending daily usage counts now (before a page reads them). */
  flushUsage(): Promise<void>;
  /** `/api/v1/tenants/:tenant/usage`. */
  readonly adminRoutes: readonly AdminRoute[];
  /** `GET /metrics`. */
  readonly metricsRoute: HttpRoute;
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
  const webhook =
    alertsConfig.webhookUrl !== undefined && alertsConfig.webhookSecret !== undefined
      ? createWebhookSender({
          url: alertsConfig.webhookUrl,
          secret: alertsConfig.webhookSecret,
          retries: alertsConfig.retries,
          maxQueue: alertsConfig.maxQueue,
          onDelivered: () => metrics.alertDeliveries.inc({ outcome: 'delivered' }),
          onDropped: (id, reason) => {
            metrics.alertDeliveries.inc({ outcome: reason });
            logger.warn({ alertId: id, reason }, 'alert webhook not delivered');
          },
        })
      : undefined;
  const alerts = createAlertEngine({
    thresholds: {
      ...alertsConfig,
      evaluateEveryMs: alertsConfig.evaluateEverySeconds * 1000,
      dedupMs: alertsConfig.dedupSeconds * 1000,
    },
    clock,
    onAlert: (alert) => {
      metrics.alerts.inc({ rule: alert.rule });
      logger.warn({ alert }, 'alert');
      webhook?.send(alert.id, { type: 'gatehouse.alert', alert });
    },
  });
  alerts.start();
  const telemetry = createTelemetry({ metrics, usage, alerts, logger });
  const tenants = new Set(config.tenants.map((t) => t.id));
  return {
    logger,
    telemetry,
    upstream: instrumentUpstreamClient(adapters.upstream, telemetry, logger),
    vault: observeVaultSecrets(adapters.vault, secrets),
    flushUsage: () => usage.flush(),
    adminRoutes: createUsageAdminRoutes({
      hasTenant: (tenant) => tenants.has(tenant),
      readUsage: (tenant, from, to) => adapters.store.usage.query(tenant, from, to),
      flush: () => usage.flush(),
      today: () => new Date(clock.now()).toISOString().slice(0, 10),
    }),
    metricsRoute: createMetricsRoute({
      render: () => secrets.scrub(metrics.render()),
      tokens: [config.adminToken, config.metricsToken],
    }),
    async close() {
      await telemetry.close();
      await webhook?.close();
    },
  };
}
