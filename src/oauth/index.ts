export { refreshAndRetry } from './refresh-and-retry.ts';
export {
  createRefreshEngine,
  type EnsureFreshOptions,
  type FreshToken,
  type RefreshEngine,
  type RefreshEngineDependencies,
  type RefreshEvent,
  type RefreshPhase,
} from './refresh-engine.ts';
export {
  createLockOwner,
  createStoreRefreshLock,
  type RefreshLock,
  type StoreRefreshLockOptions,
} from './refresh-lock.ts';
export { createRedisRefreshLock, type RedisLeaseClient, type RedisRefreshLockOptions } from './refresh-redis-lock.ts';
export {
  createRefreshRequestSender,
  type RefreshClientSettings,
  type RefreshFailureReason,
  type RefreshOutcome,
  type RefreshRequest,
  type SendRefresh,
  sendRefreshRequest,
} from './refresh-request.ts';
