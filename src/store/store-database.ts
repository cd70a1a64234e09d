import type { ColumnType } from 'kysely';

/**
 * The Kysely schema shared by both dialects (snake_case, as in the migrations). Times are epoch milliseconds:
 * `integer` on SQLite, `bigint` on PostgreSQL, which `pg` returns as a string, hence the read type.
 */
type Millis = ColumnType<number | string, number, number>;
type NullableMillis = ColumnType<number | string | null, number | null, number | null>;
/** `blob` on SQLite, `bytea` on PostgreSQL; both drivers read a Buffer and accept one. */
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;

export interface TenantsTable {
  id: string;
  created_at: Millis;
}

export interface ClientKeysTable {
  tenant_id: string;
  id: string;
  name: string;
  hash: string;
  prefix: string;
  /** JSON array of toolset ids. */
  toolsets: string;
  subject: string;
  created_at: Millis;
  revoked_at: NullableMillis;
}

/** One row per revoked key value (hash) of a tenant: outlives the `client_keys` row that held it (migration 0011_client_key_revocations). */
export interface ClientKeyRevocationsTable {
  tenant_id: string;
  hash: string;
  key_id: string;
  revoked_at: Millis;
}

export interface DataKeysTable {
  tenant_id: string;
  version: number;
  master_key_version: number;
  wrapped_key: Bytes;
  created_at: Millis;
}

export interface SecretsTable {
  tenant_id: string;
  owner: string;
  field: string;
  ciphertext: Bytes;
  updated_at: Millis;
}

export interface AuditRecordsTable {
  tenant_id: string;
  seq: ColumnType<number | string, number, number>;
  id: string;
  at: Millis;
  request_id: string;
  kind: string;
  toolset: string;
  client_key: string;
  subject: string;
  tool: string;
  method: string | null;
  path_template: string | null;
  decision: string;
  code: string | null;
  upstream_status: number | null;
  latency_ms: number;
  /** Added by 0002_audit_chain (null on older rows). */
  event: string | null;
  detail: string | null;
  target: string | null;
  fingerprint: string | null;
  prev_hash: string | null;
  hash: string | null;
}

/** The head of each tenant's audit hash chain (0002_audit_chain), locked by every append. */
export interface AuditHeadsTable {
  tenant_id: string;
  seq: ColumnType<number | string, number, number>;
  hash: string;
  anchor_seq: ColumnType<number | string, number, number>;
  anchor_hash: string;
  /** MAC of the anchor by the gateway (0012_audit_anchor_mac); null at anchor 0, `legacy` for older anchors. */
  anchor_mac: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Each tenant's audit fingerprint key, sealed by the vault (0002_audit_chain). */
export interface AuditKeysTable {
  tenant_id: string;
  sealed_key: Bytes;
  created_at: Millis;
}

/** Signed checkpoints of each tenant's audit chain (0009_audit_checkpoints). */
export interface AuditCheckpointsTable {
  tenant_id: string;
  seq: ColumnType<number | string, number, number>;
  hash: string;
  at: Millis;
  mac: string;
}

/** PostgreSQL only: the last `seq` handed out per tenant (see postgres-features.ts). */
export interface AuditSequencesTable {
  tenant_id: string;
  last_seq: ColumnType<number | string, number, number>;
}

export interface ApprovalsTable {
  tenant_id: string;
  id: string;
  toolset: string;
  tool: string;
  client_key_id: string;
  client_key_name: string;
  subject: string;
  args_hash: string;
  args_json: string;
  sealed_link_token: Bytes;
  status: string;
  requested_at: Millis;
  expires_at: Millis;
  decided_by: string | null;
  decided_at: NullableMillis;
  consumed_at: NullableMillis;
}

export interface ApprovalTasksTable {
  tenant_id: string;
  id: string;
  toolset: string;
  client_key_id: string;
  subject: string;
  tool: string;
  args_json: string;
  request_id: string;
  approval_id: string;
  status: string;
  sealed_outcome: ColumnType<Uint8Array | null, Uint8Array | null, Uint8Array>;
  created_at: Millis;
  updated_at: Millis;
  expires_at: Millis;
}

export interface ConnectionsTable {
  tenant_id: string;
  id: string;
  service: string;
  subject: string;
  status: string;
  /** JSON array of granted scopes. */
  scopes: string;
  access_token: ColumnType<Uint8Array | null, Uint8Array | null, Uint8Array | null>;
  refresh_token: ColumnType<Uint8Array | null, Uint8Array | null, Uint8Array | null>;
  access_expires_at: NullableMillis;
  token_version: ColumnType<number | string, number, number>;
  refresh_failures: number;
  refresh_cooldown_until: NullableMillis;
  /** JSON object of per-connection base URL variables (migration 0018); null: none. */
  variables: ColumnType<string | null, string | null | undefined, string | null>;
  /** SQLite refresh lease: who holds it and until when (PostgreSQL locks the row instead). */
  lock_owner: string | null;
  lock_until: NullableMillis;
  /** The last failed refresh (migration 0034): code, message in the gateway's words, when; null after a good one. */
  last_error_code: ColumnType<string | null, string | null | undefined, string | null>;
  last_error_message: ColumnType<string | null, string | null | undefined, string | null>;
  last_error_at: NullableMillis;
  created_at: Millis;
  updated_at: Millis;
}

export interface ConnectLinksTable {
  tenant_id: string;
  id: string;
  service: string;
  subject: string;
  /** JSON array of scopes. */
  scopes: string;
  return_to: string | null;
  expires_at: Millis;
  used_at: NullableMillis;
  created_at: Millis;
}

export interface OAuthAuthorizationsTable {
  tenant_id: string;
  state_hash: string;
  link_id: string;
  service: string;
  subject: string;
  /** JSON array of scopes. */
  scopes: string;
  code_verifier: Bytes;
  session_hash: string;
  expires_at: Millis;
  consumed_at: NullableMillis;
  created_at: Millis;
  /** Migration 0035: sealed tokens and sites awaiting the person's choice of site; null when none. */
  site_choice: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
  /** Migration 0035: why the authorization did not complete (a short code); null when it did not fail. */
  failure: string | null;
}

export interface ConnectKeysTable {
  tenant_id: string;
  sealed_key: Bytes;
  created_at: Millis;
}

export interface UsageDailyTable {
  tenant_id: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  toolset: string;
  tool: string;
  calls: ColumnType<number | string, number, number>;
  errors: ColumnType<number | string, number, number>;
  denials: ColumnType<number | string, number, number>;
  /** Added by `0029_audit_console_indexes`. */
  latency_ms_total: ColumnType<number | string, number | undefined, number>;
}

/** End users (0016_users). */
export interface UsersTable {
  tenant_id: string;
  id: string;
  name: string;
  display_name: string;
  status: string;
  password_hash: string | null;
  sso_subject: string | null;
  invite_hash: string | null;
  invite_expires_at: NullableMillis;
  created_at: Millis;
  updated_at: Millis;
}

/** Server-side sessions of end users, keyed by the SHA-256 of the cookie's id (0017_user_sessions). */
export interface UserSessionsTable {
  tenant_id: string;
  id_hash: string;
  user_id: string;
  created_at: Millis;
  expires_at: Millis;
}

/**
 * Operator console sessions signed out before their cookie expired, by the SHA-256 of the cookie value
 * (0036_operator_session_ends). No tenant's rows.
 */
export interface OperatorSessionEndsTable {
  id_hash: string;
  ended_at: Millis;
  expires_at: Millis;
}

/** Roles of end users in their tenant (0027_user_roles). */
export interface UserRolesTable {
  tenant_id: string;
  user_id: string;
  role: string;
  granted_at: Millis;
  granted_by: string;
}

/** Personal API tokens of end users, keyed by SHA-256 (0028_user_api_tokens). */
export interface UserApiTokensTable {
  tenant_id: string;
  id: string;
  user_id: string;
  name: string;
  hash: string;
  prefix: string;
  created_at: Millis;
  expires_at: NullableMillis;
  revoked_at: NullableMillis;
}

/** When each personal API token last authenticated, to about a minute (0015_user_api_token_uses). */
export interface UserApiTokenUsesTable {
  tenant_id: string;
  token_id: string;
  last_used_at: Millis;
}

/** Artefacts of Gatehouse's authorization server (migration 0013_oauth_server). */
export interface OAuthServerRecordsTable {
  tenant_id: string;
  model: string;
  id_hash: string;
  payload: Bytes;
  grant_id: string | null;
  uid_hash: string | null;
  aud: string | null;
  account_id: string | null;
  client_id: string | null;
  expires_at: NullableMillis;
  consumed_at: NullableMillis;
}

export interface OAuthServerKeysTable {
  tenant_id: string;
  sealed_keys: Bytes;
  created_at: Millis;
}

/** Remembered consents (migration 0014_oauth_consents). */
export interface OAuthConsentsTable {
  tenant_id: string;
  id: string;
  user_id: string;
  client_id: string;
  client_name: string;
  toolset: string;
  /** JSON array. */
  scopes: string;
  created_at: Millis;
}

/** One tenant's configuration document (migration `0024_tenant_configs`). */
export interface TenantConfigsTable {
  tenant_id: string;
  revision: number;
  document: string;
  updated_at: Millis;
  updated_by: string;
}

/** Every revision of a tenant's configuration; `document` null = deleted at that revision. */
export interface TenantConfigRevisionsTable {
  tenant_id: string;
  revision: number;
  document: string | null;
  actor: string;
  summary: string;
  created_at: Millis;
}

/** A service's description text, by tenant and SHA-256 (migration `0030_service_descriptions`). */
export interface ServiceDescriptionsTable {
  tenant_id: string;
  digest: string;
  text: string;
  /** Where it came from: `upload` or the URL it was fetched from. */
  source: string;
  created_at: Millis;
  created_by: string;
}

/** An alert a tenant raised and its delivery outcome (migration `0031_alert_deliveries`). */
export interface AlertDeliveriesTable {
  tenant_id: string;
  alert_id: string;
  rule: string;
  about: string;
  summary: string;
  observed: number;
  threshold: number;
  raised_at: Millis;
  outcome: string;
  updated_at: Millis;
}

export interface StoreDatabase {
  tenant_configs: TenantConfigsTable;
  alert_deliveries: AlertDeliveriesTable;
  service_descriptions: ServiceDescriptionsTable;
  tenant_config_revisions: TenantConfigRevisionsTable;
  oauth_server_records: OAuthServerRecordsTable;
  oauth_server_keys: OAuthServerKeysTable;
  oauth_consents: OAuthConsentsTable;
  users: UsersTable;
  user_sessions: UserSessionsTable;
  operator_session_ends: OperatorSessionEndsTable;
  user_roles: UserRolesTable;
  user_api_tokens: UserApiTokensTable;
  user_api_token_uses: UserApiTokenUsesTable;
  usage_daily: UsageDailyTable;
  tenants: TenantsTable;
  client_keys: ClientKeysTable;
  client_key_revocations: ClientKeyRevocationsTable;
  data_keys: DataKeysTable;
  secrets: SecretsTable;
  audit_records: AuditRecordsTable;
  audit_sequences: AuditSequencesTable;
  audit_heads: AuditHeadsTable;
  audit_keys: AuditKeysTable;
  audit_checkpoints: AuditCheckpointsTable;
  connections: ConnectionsTable;
  connect_links: ConnectLinksTable;
  oauth_authorizations: OAuthAuthorizationsTable;
  connect_keys: ConnectKeysTable;
  approvals: ApprovalsTable;
  approval_tasks: ApprovalTasksTable;
}
