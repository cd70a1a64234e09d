import type { Config, TenantConfig } from '../core/index.ts';
import type { SecretRegistry } from './create-secret-registry.ts';

/**
 * Registers, as permanent, every secret written in the config: admin and metrics tokens, the master key, the alert
 * webhook secret, and each tenant's (`registerTenantSecrets`). Called once at start, before the first log line.
 */
export function registerConfigSecrets(config: Config, registry: SecretRegistry): void {
  const add = (value: string | undefined) => {
    if (value !== undefined) registry.register(value, { permanent: true });
  };
  add(config.adminToken);
  add(config.metricsToken);
  add(config.masterKey);
  add(config.alerts.webhookSecret);
  for (const tenant of config.tenants) registerTenantSecrets(tenant, registry);
}

/**
 * Registers, as permanent, the secrets of one tenant's configuration: its services' static credentials, its
 * configured client keys, its approver token and its alert webhooks' secrets. Called at start for every tenant and
 * again whenever a tenant's stored configuration changes (a new secret is scrubbed from the first call on).
 */
export function registerTenantSecrets(tenant: TenantConfig, registry: SecretRegistry): void {
  const add = (value: string | undefined) => {
    if (value !== undefined) registry.register(value, { permanent: true });
  };
  for (const service of tenant.services) {
    const auth = service.auth;
    if (auth.type === 'apiKey') add(auth.value);
    else if (auth.type === 'bearer') add(auth.token);
    else if (auth.type === 'basic') {
      add(auth.password);
      add(`${auth.username}:${auth.password}`);
    } else if (auth.type === 'oauth2') add(auth.clientSecret);
  }
  for (const key of tenant.clientKeys) add(key.key);
  add(tenant.approverToken);
  for (const rule of tenant.alertRules) add(rule.webhook?.secret);
}
