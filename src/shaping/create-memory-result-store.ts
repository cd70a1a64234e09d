import type { Clock } from '../core/index.ts';
import type { ResultStore, StoredResult } from './result-store.ts';

export interface MemoryResultStoreOptions {
  readonly clock: Clock;
  /** Total characters x 2 (UTF-16 bytes) of stored texts; the oldest entries are evicted beyond it. */
  readonly maxBytes: number;
}

/**
 * Result handles in this process's memory, within a total byte cap: expired entries are dropped on access
 * and when space is needed, then the oldest ones. A result larger than the whole cap is not kept (its handle
 * then answers `not_found`, as an expired one does).
 */
export function createMemoryResultStore(options: MemoryResultStoreOptions): ResultStore & { readonly bytes: number } {
  const { clock, maxBytes } = options;
  const entries = new Map<string, StoredResult>();
  let bytes = 0;

  function remove(key: string, entry: StoredResult): void {
    entries.delete(key);
    bytes -= sizeOf(entry);
  }

  function makeRoom(size: number): void {
    const now = clock.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) remove(key, entry);
    for (const [key, entry] of entries) {
      if (bytes + size <= maxBytes) break;
      remove(key, entry);
    }
  }

  return {
    get bytes() {
      return bytes;
    },
    async put(key, result) {
      const size = sizeOf(result);
      const previous = entries.get(key);
      if (previous !== undefined) remove(key, previous);
      if (size > maxBytes) return;
      if (bytes + size > maxBytes) makeRoom(size);
      entries.set(key, result);
      bytes += size;
    },
    async get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt <= clock.now()) {
        remove(key, entry);
        return undefined;
      }
      return entry;
    },
  };
}

function sizeOf(entry: StoredResult): number {
  return entry.text.length * 2 + entry.owner.length * 2 + 64;
}
