export {
  createOperatorSessions,
  type IssuedOperatorSession,
  type OperatorSession,
  type OperatorSessionKeys,
  type OperatorSessions,
  type OperatorSessionsOptions,
  operatorActor,
  operatorCookieName,
  operatorSessionPurpose,
  operatorSessionSeconds,
} from './create-operator-sessions.ts';
export {
  createSsoRelyingParty,
  type SsoIdentity,
  type SsoRelyingParty,
  type SsoSealer,
  type SsoSettings,
  ssoCookieName,
  ssoPendingSeconds,
} from './create-sso-relying-party.ts';
export {
  type ActiveSession,
  type CreatedUser,
  createUserAccounts,
  defaultSignInAttempts,
  type IssuedSession,
  readCookie,
  type SignedInUser,
  type SignInAttemptLimits,
  sessionCookieName,
  type UserAccounts,
  type UserAccountsDependencies,
  type UserSecurityEvent,
  type UserSummary,
  type UserTenantSettings,
} from './create-user-accounts.ts';
export {
  type ApiTokenCaller,
  type ApiTokenSummary,
  type CreatedApiToken,
  createUserRoles,
  type RoleGrant,
  type RoleSecurityEvent,
  type UserRoles,
  type UserRolesDependencies,
} from './create-user-roles.ts';
export {
  hashPassword,
  type PasswordHashParameters,
  passwordHashParameters,
  passwordLength,
  passwordNeedsRehash,
  verifyPassword,
} from './hash-password.ts';
export { createSecretToken, csrfTokenOf, hashSecretToken, sameToken } from './session-token.ts';
export { isTenantRole, type TenantRole, tenantRoles, tenantRolesNarrowestFirst } from './tenant-roles.ts';
