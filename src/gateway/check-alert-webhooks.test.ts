import { describe, expect, it } from 'vitest';
import { isGatehouseError, parseTenantDocument } from '../core/index.ts';
import { checkAlertWebhooks } from './check-alert-webhooks.ts';

const tenantWith = (url: string) =>
  parseTenantDocument(
    {
      id: 'acme',
      alertRules: [
        { id: 'quiet', metric: 'tool_calls', threshold: 5, windowSeconds: 60 },
        {
          id: 'loud',
          metric: 'policy_denials',
          threshold: 5,
          windowSeconds: 60,
          webhook: { url, secret: 'a-webhook-secret-0123' },
        },
      ],
    },
    { env: {} },
  );

/** A resolver for names the test gives: no network. */
const resolve = async (hostname: string) => {
  const table: Record<string, string> = { 'inside.example': '10.1.2.3', 'hooks.example': '93.184.216.34' };
  const address = table[hostname];
  if (address === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [{ address, family: 4 as const }];
};

async function refusal(url: string, allow: readonly string[] = []): Promise<string | undefined> {
  try {
    await checkAlertWebhooks(tenantWith(url), allow, resolve);
    return undefined;
  } catch (error) {
    if (!isGatehouseError(error)) throw error;
    expect(error.code).toBe('config_invalid');
    return String(error.details['path']);
  }
}

describe("checkAlertWebhooks (MC-07 for a tenant's alert webhooks)", () => {
  it('refuses private, loopback and metadata addresses, as literals or behind a name, naming the field', async () => {
    for (const url of [
      'http://169.254.169.254/x',
      'http://127.0.0.1:8080/h',
      'http://[::1]/h',
      'http://0x7f.1/h',
      'https://inside.example/h',
    ]) {
      expect(await refusal(url), url).toBe('alertRules[1].webhook.url');
    }
  });

  it('accepts a public host, a host the operator allowed, and a name that does not resolve now', async () => {
    expect(await refusal('https://hooks.example/h')).toBeUndefined();
    expect(await refusal('http://127.0.0.1:8080/h', ['127.0.0.1'])).toBeUndefined();
    expect(await refusal('https://inside.example/h', ['inside.example'])).toBeUndefined();
    expect(await refusal('https://nowhere.example/h')).toBeUndefined();
  });
});
