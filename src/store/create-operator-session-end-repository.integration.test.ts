import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBackends } from './fixtures/store-backends.ts';
import type { Store } from './port.ts';

/** Signed-out operator sessions (0036) on SQLite always and on PostgreSQL when GATEHOUSE_TEST_POSTGRES is set. */
for (const backend of storeBackends) {
  describe.skipIf(!backend.enabled)(`operator session ends on ${backend.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await backend.open();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it('records an end once, finds it by its hash, and sweeps it after the cookie would have expired', async () => {
      expect(await store.operatorSessionEnds.isEnded('h1')).toBe(false);
      await store.operatorSessionEnds.end('h1', 100, 1_000);
      // A second sign-out of the same session (a copy of the cookie) changes nothing and does not fail.
      await store.operatorSessionEnds.end('h1', 200, 1_000);
      await store.operatorSessionEnds.end('h2', 100, 2_000);
      expect(await store.operatorSessionEnds.isEnded('h1')).toBe(true);
      expect(await store.operatorSessionEnds.isEnded('h2')).toBe(true);
      expect(await store.operatorSessionEnds.deleteExpired(1_000)).toBe(0);
      expect(await store.operatorSessionEnds.deleteExpired(1_001)).toBe(1);
      expect(await store.operatorSessionEnds.isEnded('h1')).toBe(false);
      expect(await store.operatorSessionEnds.isEnded('h2')).toBe(true);
    });
  });
}
