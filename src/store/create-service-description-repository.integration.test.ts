import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends } from './fixtures/store-backends.ts';
import type { Store } from './port.ts';

/**
 * Stored service descriptions (0030) and alert deliveries (0031) on SQLite always and on PostgreSQL when
 * GATEHOUSE_TEST_POSTGRES is set: per tenant, by content, the newest alerts first.
 */
for (const backend of storeBackends) {
  describe.skipIf(!backend.enabled)(`service descriptions and alert deliveries on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it('stores a description once per tenant and content; another tenant does not see it', async () => {
      const digest = 'a'.repeat(64);
      const row = { digest, text: 'openapi: 3.0.3', source: 'upload', at: 1, actor: 'admin' };
      await store.serviceDescriptions.put('acme', row);
      await store.serviceDescriptions.put('acme', { ...row, source: 'https://example.com/again', at: 2 });
      expect(await store.serviceDescriptions.get('acme', digest)).toEqual({
        digest,
        text: 'openapi: 3.0.3',
        source: 'upload',
      });
      expect(await store.serviceDescriptions.get('beta', digest)).toBeUndefined();
    });

    it('records alerts with their outcome and lists a tenant’s newest first', async () => {
      const alert = (alertId: string, raisedAt: number) => ({
        alertId,
        rule: 'policy_denials',
        about: 'key:agent',
        summary: '3 denials',
        observed: 3,
        threshold: 2,
        raisedAt,
        outcome: 'queued' as const,
      });
      await store.alertDeliveries.record('acme', alert('a1', 10));
      await store.alertDeliveries.record('acme', alert('a2', 20));
      await store.alertDeliveries.record('beta', alert('b1', 30));
      await store.alertDeliveries.setOutcome('acme', 'a1', 'delivered', 40);
      const recent = await store.alertDeliveries.recent('acme', 10);
      expect(recent.map((d) => [d.alertId, d.outcome])).toEqual([
        ['a2', 'queued'],
        ['a1', 'delivered'],
      ]);
      expect(recent[1]?.updatedAt).toBe(40);
      expect(await store.alertDeliveries.recent('acme', 1)).toHaveLength(1);
    });
  });
}
