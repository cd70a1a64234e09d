import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { createMemoryResultStore } from './create-memory-result-store.ts';
import { createResultHandles } from './create-result-handles.ts';

function createClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, monotonic: () => now, advance: (ms) => (now += ms) };
}

const text = (chars: number) => JSON.stringify({ pad: 'x'.repeat(chars) });
const alice = { tenant: 'a', subject: 'alice', clientKey: 'ka' };
const bob = { tenant: 'b', subject: 'bob', clientKey: 'kb' };
const carol = { tenant: 'b', subject: 'carol', clientKey: 'kc' };

describe('createMemoryResultStore() caps per tenant and per subject', () => {
  it("MT-08 (review finding 5c) another tenant filling the store never evicts a tenant's handle", async () => {
    const clock = createClock();
    // 1 MB in total; defaults: 256 KB per tenant, 192 KB per subject.
    const handles = createResultHandles({ store: createMemoryResultStore({ clock, maxBytes: 1_000_000 }), clock });
    const kept = await handles.create(alice, { kind: 'json', text: text(40_000) });
    for (let i = 0; i < 20; i++) await handles.create(i % 2 ? bob : carol, { kind: 'json', text: text(40_000) });
    await expect(handles.load(alice, kept.id)).resolves.toMatchObject({ id: kept.id });
  });

  it("MT-08 a subject over its cap evicts its own oldest first, then the tenant's; never over the caps", async () => {
    const clock = createClock();
    const store = createMemoryResultStore({
      clock,
      maxBytes: 10_000_000,
      maxBytesPerTenant: 400_000,
      maxBytesPerSubject: 250_000,
    });
    const handles = createResultHandles({ store, clock });
    const carols = [await handles.create(carol, { kind: 'json', text: text(50_000) })];
    clock.advance(1);
    const bobs = [];
    for (let i = 0; i < 3; i++) bobs.push(await handles.create(bob, { kind: 'json', text: text(50_000) }));
    // Each result counts ~100 KB: Bob's third goes over his 250 KB, so his own first one is evicted, not Carol's.
    await expect(handles.load(bob, bobs[0]!.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(handles.load(carol, carols[0]!.id)).resolves.toBeDefined();
    carols.push(await handles.create(carol, { kind: 'json', text: text(50_000) }));
    carols.push(await handles.create(carol, { kind: 'json', text: text(50_000) }));
    // The tenant's 400 KB: the tenant's oldest results make room (Carol's first, then Bob's second).
    expect(store.bytes).toBeLessThanOrEqual(400_000);
    await expect(handles.load(carol, carols[2]!.id)).resolves.toBeDefined();
  });

  it('MT-08 refuses a result over a cap by itself, and a full store of other tenants, without evicting them', async () => {
    const clock = createClock();
    const store = createMemoryResultStore({
      clock,
      maxBytes: 300_000,
      maxBytesPerTenant: 200_000,
      maxBytesPerSubject: 200_000,
    });
    const handles = createResultHandles({ store, clock });
    await expect(handles.create(alice, { kind: 'json', text: text(150_000) })).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    const a = await handles.create(alice, { kind: 'json', text: text(60_000) });
    clock.advance(1_000);
    const b = await handles.create(bob, { kind: 'json', text: text(60_000) });
    const refused = handles.create(
      { tenant: 'c', subject: 'x', clientKey: 'kx' },
      { kind: 'json', text: text(60_000) },
    );
    await expect(refused).rejects.toMatchObject({ code: 'rate_limited', details: { retryAfterSeconds: 899 } });
    await expect(handles.load(alice, a.id)).resolves.toBeDefined();
    await expect(handles.load(bob, b.id)).resolves.toBeDefined();
    // Expired results make room again.
    clock.advance(15 * 60_000);
    await expect(
      handles.create({ tenant: 'c', subject: 'x', clientKey: 'kx' }, { kind: 'json', text: text(60_000) }),
    ).resolves.toBeDefined();
  });
});
