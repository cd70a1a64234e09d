import { GatehouseError, isGatehouseError, type TenantConfig } from '../core/index.ts';
import { createAddressGuard, type ResolveHost } from '../upstream/index.ts';

/** How long a write waits for a webhook's host to resolve before leaving it to the sender's check. */
const resolveTimeoutMs = 2_000;

/**
 * Refuses a tenant whose alert rules send to a private, loopback, link-local or metadata address (MC-07): the URL
 * is written by a user of the tenant, and the gateway would post to it. Hosts the operator listed in
 * `unsafeAllowPrivateUpstreams` are allowed. Checked when the configuration is written, so the person is told at
 * once; the webhook's sender checks every connection again (a name may resolve elsewhere later, or not resolve
 * now).
 * Throws `config_invalid` with `details.path` naming the field (`alertRules[0].webhook.url`).
 */
export async function checkAlertWebhooks(
  tenant: TenantConfig,
  allowPrivateHosts: readonly string[],
  resolve?: ResolveHost,
): Promise<void> {
  const guard = createAddressGuard(allowPrivateHosts, resolve);
  for (const [index, rule] of tenant.alertRules.entries()) {
    if (rule.webhook === undefined) continue;
    const path = `alertRules[${index}].webhook.url`;
    const url = new URL(rule.webhook.url);
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    try {
      guard.checkUrl(url);
      await Promise.race([
        new Promise<void>((done, fail) =>
          guard.lookup(hostname, { all: true }, (error) => (error ? fail(error) : done())),
        ),
        new Promise<void>((done) => setTimeout(done, resolveTimeoutMs).unref()),
      ]);
    } catch (error) {
      // A name that does not resolve now is not refused: DNS may be down, and the sender checks every connection.
      if (!(isGatehouseError(error) && error.code === 'upstream_blocked')) continue;
      throw new GatehouseError(
        'config_invalid',
        `${path}: the webhook's host ${hostname} is a private or reserved address; the operator may allow it by listing the host in unsafeAllowPrivateUpstreams`,
        { path },
      );
    }
  }
}
