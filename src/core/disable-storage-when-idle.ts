import type { AsyncLocalStorage } from 'node:async_hooks';

/**
 * On Node 20 an AsyncLocalStorage's first `run` turns on promise hooks for the whole process, for good: every
 * promise of every later request pays for them (~5% of a tool call's CPU in bench/profile.ts). For a storage that
 * nothing reads between the pieces of work run in it, the returned function runs each piece counted, and disables
 * the storage when the last one in flight ends (which turns the hooks off); its next `run` enables it again.
 */
export function disableStorageWhenIdle(
  storage: Pick<AsyncLocalStorage<unknown>, 'disable'>,
): <T>(work: () => Promise<T>) => Promise<T> {
  let inFlight = 0;
  return async (work) => {
    inFlight++;
    try {
      return await work();
    } finally {
      inFlight--;
      if (inFlight === 0) storage.disable();
    }
  };
}
