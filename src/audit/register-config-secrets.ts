import type { Config } from '../core/index.ts';
import type { SecretRegistry } from './create-secret-registry.ts';

/**
 * Registers, as permanent, every secret written in the config: admin and metrics tokens, the master key, the alert
 * webhook secret, each service's static credential (API key, bearer token, Basic password, OAuth client secret) and
 * each configured client key, each tenant's approver token. Called once at start, before the first log line.
 */
export function registerConfigSecrets(config: Config, registry: SecretRegistry): void {
  const add = (value: string | undefined) => {
    if (value !== undefined) registry.register(value, { permanent: true });
  };
  add(config.adminToken);
  add(config.metricsToken);
  add(config.masterKey);
  add(config.alerts.webhookSecret);
  for (const tenant of config.tenants) {
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
  }
}
