import { Redis } from 'ioredis';

/**
 * Connects to Redis for shared short-lived state. Commands fail at once while the connection is down (no
 * offline queue, one attempt per command), so a call never waits on a missing Redis: the limiter and the cache
 * turn the failure into `store_unavailable`. Resolves once connected; rejects when the first connect fails.
 */
export async function openRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    // A bounded reconnect delay: the limiter and cache recover on their own once Redis is back.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Errors surface on the commands that fail; without a listener ioredis would print them as unhandled.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return redis;
}
