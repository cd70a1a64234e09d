export {
  type AuthServer,
  type AuthServerOptions,
  createAuthServer,
  type PendingConsent,
  toolsetScope,
  type VerifiedAccessToken,
} from './create-auth-server.ts';
export { createGuardedFetch, type GuardedFetch, type GuardedFetchOptions } from './create-guarded-fetch.ts';
export { hashToken } from './hash-token.ts';
