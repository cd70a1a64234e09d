import type { Clock } from '../core/index.ts';
import type { CacheBackend, CacheLookup } from '../store/index.ts';

export interface MemoryCacheBackendOptions {
  readonly clock: Clock;
  /** Total size of the stored values (UTF-16 code units x 2 plus a fixed overhead per entry); default 64 MiB. */
  readonly maxBytes?: number;
}

interface Entry {
  readonly group: string;
  readonly generation: number;
  readonly value: string;
  readonly bytes: number;
  readonly expiresAt: number;
}

/** Fixed cost per entry (map slot, key, record), so a flood of tiny entries is bounded too. */
const entryOverheadBytes = 200;

/**
 * The in-process CacheBackend: an LRU bounded by bytes (a Map in recency order: a hit moves the entry to the end,
 * eviction takes from the front). An entry larger than an eighth of the budget is not stored, so one answer
 * cannot flush the cache. Generations are per group; an entry of an older generation is a miss and is dropped.
 */
export function createMemoryCacheBackend(options: MemoryCacheBackendOptions): CacheBackend & {
  readonly size: () => { readonly entries: number; readonly bytes: number };
} {
  const { clock } = options;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const entries = new Map<string, Entry>();
  const generations = new Map<string, number>();
  let bytes = 0;

  const slot = (group: string, key: string) => `${group}\u0000${key}`;

  function drop(id: string, entry: Entry): void {
    entries.delete(id);
    bytes -= entry.bytes;
  }

  return {
    async lookup(group, key): Promise<CacheLookup> {
      const generation = generations.get(group) ?? 0;
      const id = slot(group, key);
      const entry = entries.get(id);
      if (entry === undefined) return { generation, value: undefined };
      if (entry.generation !== generation || entry.expiresAt <= clock.monotonic()) {
        drop(id, entry);
        return { generation, value: undefined };
      }
      entries.delete(id);
      entries.set(id, entry);
      return { generation, value: entry.value };
    },

    async put(group, generation, key, value, ttlMs) {
      if (generation !== (generations.get(group) ?? 0) || ttlMs <= 0) return;
      const size = value.length * 2 + key.length * 2 + group.length * 2 + entryOverheadBytes;
      if (size > maxBytes / 8) return;
      const id = slot(group, key);
      const old = entries.get(id);
      if (old !== undefined) drop(id, old);
      entries.set(id, { group, generation, value, bytes: size, expiresAt: clock.monotonic() + ttlMs });
      bytes += size;
      for (const [oldest, entry] of entries) {
        if (bytes <= maxBytes) break;
        drop(oldest, entry);
      }
    },

    async invalidate(group) {
      generations.set(group, (generations.get(group) ?? 0) + 1);
    },

    size: () => ({ entries: entries.size, bytes }),
    close: async () => {
      entries.clear();
      bytes = 0;
    },
  };
}
