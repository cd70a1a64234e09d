/**
 * The persistence port. Domain modules depend on these interfaces only; the SQLite and PostgreSQL adapters
 * implement them over one Kysely schema and one migration set. Every method that touches tenant-owned data
 * takes the tenant id and filters by it.
 */

import type { StoreDatabase } from './store-database.ts';

export interface ClientKeyRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  /** SHA-256 (hex) of the full key. The key itself is never stored. */
  readonly hash: string;
  /**
   * A label that tells keys apart without revealing them (`labelClientKey`): the public `gatehouse_sk_` marker plus
   * 4 characters of a generated key, or a short hash of an operator-supplied one.
   */
  readonly prefix: string;
  readonly toolsets: readonly string[];
  readonly subject: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface ClientKeyRepository {
  /**
   * Inserts or replaces the key with this (tenant, name). The same key (same hash) keeps its `createdAt` and its
   * `revokedAt`: writing a revoked key again never makes it valid. A value revoked at any time in this tenant
   * (a tombstone, kept even after its row was rewritten with another value) is never written active and never
   * replaces the row the name has now: the answer is then `revoked`.
   */
  upsert(record: ClientKeyRecord): Promise<'written' | 'revoked'>;
  /** Looks a key up by its hash across tenants (the hash is globally unique). Revoked keys are returned too. */
  findByHash(hash: string): Promise<ClientKeyRecord | undefined>;
  list(tenantId: string): Promise<readonly ClientKeyRecord[]>;
  /**
   * Sets `revokedAt` and keeps a tombstone of the key's value (hash); true when a key of this tenant was revoked
   * now, false when none or already revoked.
   */
  revoke(tenantId: string, id: string, at: number): Promise<boolean>;
}

/** A data key of a tenant, wrapped (encrypted) by a master key version. */
export interface DataKeyRecord {
  readonly tenantId: string;
  readonly version: number;
  readonly masterKeyVersion: number;
  readonly wrappedKey: Uint8Array;
  readonly createdAt: number;
}

export interface DataKeyRepository {
  /** Inserts a data key; returns false when (tenant, version) already exists (a racing process won). */
  insert(record: DataKeyRecord): Promise<boolean>;
  list(tenantId: string): Promise<readonly DataKeyRecord[]>;
  /** Replaces the wrapping of one data key (master key rotation). */
  rewrap(tenantId: string, version: number, masterKeyVersion: number, wrappedKey: Uint8Array): Promise<void>;
  /** Destroys every data key of a tenant (crypto-shredding). */
  deleteTenant(tenantId: string): Promise<void>;
}

/** An encrypted secret owned by a tenant: a static service credential, a token, a client secret. */
export interface SecretRecord {
  readonly tenantId: string;
  /** What the secret belongs to, e.g. `service:petstore` or `connection:<id>`. */
  readonly owner: string;
  /** Which secret of the owner, e.g. `apiKey`, `access_token`. */
  readonly field: string;
  /** Vault envelope: version, nonce, ciphertext and tag (see vault/). */
  readonly ciphertext: Uint8Array;
  readonly updatedAt: number;
}

export interface SecretRepository {
  put(record: SecretRecord): Promise<void>;
  /**
   * Stores `record` unless the tenant's owner already has that field, and returns the stored one either way: the
   * first of several processes writing at once wins, and every one of them gets the winner.
   */
  putIfAbsent(record: SecretRecord): Promise<SecretRecord>;
  /**
   * Replaces the field's ciphertext with `record`'s while it still holds `previous` (stores `record` when the field
   * is gone), and returns the stored one either way: of several processes replacing the same stale secret at once,
   * the first wins and every one of them gets the winner.
   */
  replaceIfUnchanged(record: SecretRecord, previous: Uint8Array): Promise<SecretRecord>;
  get(tenantId: string, owner: string, field: string): Promise<SecretRecord | undefined>;
  listByOwner(tenantId: string, owner: string): Promise<readonly SecretRecord[]>;
  deleteByOwner(tenantId: string, owner: string): Promise<void>;
}

export type AuditDecision = 'allow' | 'deny' | 'error';

/**
 * `tool_call`: the one outcome record of a tool call. `tool_intent`: written (and awaited) before the upstream
 * request of a non-safe tool (AU-03), same `requestId` as its outcome. `security`: a security event (`event`).
 */
export type AuditKind = 'tool_call' | 'tool_intent' | 'security';

/**
 * One audit record: a closed schema of ids, names, codes and numbers; no free-form payloads, no arguments,
 * no bodies, no credentials (a credential appears only as `fingerprint`, a keyed HMAC). Fields that do not
 * apply to a kind are `''` (text) or null.
 */
export interface AuditRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly at: number;
  readonly requestId: string;
  readonly kind: AuditKind;
  /** Security records: the event name (see audit/); null for tool records. */
  readonly event: string | null;
  readonly toolset: string;
  readonly clientKey: string;
  readonly subject: string;
  readonly tool: string;
  readonly method: string | null;
  readonly pathTemplate: string | null;
  readonly decision: AuditDecision;
  /** Stable error code for denials and failures; null on success. */
  readonly code: string | null;
  /** Upstream HTTP status when the upstream was called. */
  readonly upstreamStatus: number | null;
  readonly latencyMs: number;
  /** A short enum-like word (`[a-z0-9_]`), e.g. a decrypt failure reason. Never text from outside. */
  readonly detail: string | null;
  /** What a security event is about, as gateway ids, e.g. `service:petstore/credential`, `key:agent`. */
  readonly target: string | null;
  /** Keyed fingerprint (HMAC-SHA256, per-tenant key) of a credential the event concerns. */
  readonly fingerprint: string | null;
  /**
   * Position of the record in its tenant's log (1, 2, 3 ... without gaps). Assigned by the store on
   * `appendBatch` (a value passed in is ignored) and always present on records returned by `query`.
   */
  readonly seq?: number;
  /** Hash chain (assigned on append): hash of the previous record (or the anchor), and of this record. Null on
   * records written before migration `0002_audit_chain` (pre-chain). */
  readonly prevHash?: string | null;
  readonly hash?: string | null;
}

export interface AuditQuery {
  readonly tenantId: string;
  readonly kind?: AuditKind;
  readonly tool?: string;
  readonly decision?: AuditDecision;
  readonly subject?: string;
  /** Upstream HTTP status. */
  readonly status?: number;
  /** Records with `at >= since` (inclusive). */
  readonly since?: number;
  /** Records with `at < until` (exclusive), so consecutive windows do not overlap. */
  readonly until?: number;
  /** At most this many records; default 1,000, capped at 10,000. */
  readonly limit?: number;
  /** Order by `seq`; default `asc` (oldest first). `desc` gives the newest first. */
  readonly order?: 'asc' | 'desc';
  /** For paging: only records with `seq > afterSeq`. */
  readonly afterSeq?: number;
  /** For paging: only records with `seq < beforeSeq`. */
  readonly beforeSeq?: number;
}

export interface AuditSummaryQuery {
  readonly tenantId: string;
  readonly since: number;
  readonly until: number;
  /** Bucket length in milliseconds, e.g. 3,600,000 for hours. */
  readonly bucketMs: number;
}

/** Calls, errors and denials of one time bucket; `latencyMs` the mean over its calls. */
export interface AuditCounts {
  readonly calls: number;
  readonly errors: number;
  readonly denials: number;
  readonly latencyMs: number;
}

export interface AuditSummary {
  /** Oldest first; `start` is the bucket's first millisecond. */
  readonly buckets: readonly (AuditCounts & { readonly start: number })[];
}

/**
 * The head of a tenant's chain: the last `seq` and `hash` handed out, and the anchor the chain starts from
 * (`anchorSeq` 0 and the genesis hash for a new tenant; the last pre-chain record after `0002_audit_chain`;
 * the last pruned record after retention).
 */
export interface AuditChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly anchorSeq: number;
  readonly anchorHash: string;
  /** The gateway's MAC over the anchor (audit/ `sealAuditAnchor`, written by `prune`); null when it has none. */
  readonly anchorMac: string | null;
  /**
   * True for an anchor that existed before `0012_audit_anchor_mac` (pre-chain, or pruned before anchors were
   * signed): never signed, but its triggers keep it where that migration found it.
   */
  readonly anchorLegacy: boolean;
}

/** Where retention moves a tenant's anchor: the last pruned record, its chain hash, and the gateway's MAC over both. */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
  readonly mac: string | null;
}

/**
 * A signed checkpoint of a tenant's chain: the chain hash at `seq`, MAC'd by audit/ under a per-tenant key that
 * only the vault can unseal (migration `0009_audit_checkpoints`).
 */
export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
  readonly mac: string;
}

/** Computes a record's hash from its content (with `seq`) and the previous hash; supplied by audit/. */
export type AuditSeal = (record: AuditRecord & { readonly seq: number }, prevHash: string) => string;

/** Append-only on purpose: there is no update; deletion only of a chain prefix (`prune`). */
export interface AuditRepository {
  /**
   * Appends records of one tenant, in order, as its next `seq` values, in one transaction that holds the
   * tenant's chain head locked (across processes): reads the head, chains the records with `seal`, inserts
   * them and moves the head. Returns the records as stored (with seq, prevHash, hash).
   */
  appendBatch(tenantId: string, records: readonly AuditRecord[], seal: AuditSeal): Promise<readonly AuditRecord[]>;
  query(query: AuditQuery): Promise<readonly AuditRecord[]>;
  /**
   * Tool calls (`kind = tool_call`) of a tenant with `since <= at < until`, counted per time bucket of
   * `bucketMs` (buckets start at multiples of `bucketMs` since the epoch; empty ones are left out). Aggregated by
   * the database over an index holding every column it reads (`0029_audit_console_indexes`). Longer windows per day and
   * per tool come from the usage rollup (`UsageRepository.summarize`).
   */
  summarize(query: AuditSummaryQuery): Promise<AuditSummary>;
  /**
   * Whether the record with this `id` and `at` was stored: after an append failed with a lost connection, tells
   * a batch that committed (its reply lost) from one that did not. A batch is stored whole or not at all.
   */
  containsRecord(tenantId: string, record: Pick<AuditRecord, 'id' | 'at'>): Promise<boolean>;
  /** The tenant's chain head; undefined when the tenant has never had a record. */
  readHead(tenantId: string): Promise<AuditChainHead | undefined>;
  /**
   * Stores `sealedKey` (a vault envelope) as the tenant's audit fingerprint key unless one exists, and returns
   * the stored one (so racing processes agree on one key).
   */
  ensureFingerprintKey(tenantId: string, sealedKey: Uint8Array, at: number): Promise<Uint8Array>;
  /** The tenant's sealed fingerprint key, or undefined; reads only (for `audit verify`). */
  readFingerprintKey(tenantId: string): Promise<Uint8Array | undefined>;
  /** Stores a checkpoint; one at the same seq already stored is kept (processes may race to the same head). */
  appendCheckpoint(tenantId: string, checkpoint: AuditCheckpoint): Promise<void>;
  /** The tenant's checkpoints with `seq > afterSeq`, oldest first. */
  listCheckpoints(tenantId: string, afterSeq: number): Promise<readonly AuditCheckpoint[]>;
  /**
   * Retention: deletes the tenant's records with `seq <= anchor.seq` and moves the head's anchor (with its MAC) to
   * that record, in one transaction, only when that record still holds `anchor.hash`. Only a prefix can go; the
   * rest of the chain stays verifiable from the anchor. Returns the number of records deleted.
   */
  prune(tenantId: string, anchor: AuditAnchor): Promise<number>;
}

export interface TenantRepository {
  /** Creates the tenant row if it does not exist. */
  ensure(tenantId: string, at: number): Promise<void>;
  list(): Promise<readonly string[]>;
  /**
   * True when `tenantId` was purged: its audit log and audit key are kept under the id, and no data key is left to
   * open that key (`purgeTenant` deletes them). The one answer to "was this id purged" (a start naming it, a create).
   */
  isPurged(tenantId: string): Promise<boolean>;
}

/**
 * A tenant's stored configuration (migration `0024_tenant_configs`): the tenant entry of the config file as written,
 * as a JSON object (secrets stay `${env:...}` references), and its revision (1 for the first write, +1 per write).
 */
export interface TenantConfigRecord {
  readonly tenantId: string;
  readonly revision: number;
  readonly document: Readonly<Record<string, unknown>>;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

/** What a write or delete of a tenant's configuration needs besides the document. */
export interface TenantConfigChange {
  /** The revision the change was based on; null = the configuration must not exist yet (a create). */
  readonly expectedRevision: number | null;
  /** Who changes it (`admin`, `apply`, a user id), kept in the history. */
  readonly actor: string;
  /** One line saying what changed (resource kinds and ids, never a value). */
  readonly summary: string;
  readonly at: number;
}

/**
 * The stored tenant configurations. Validation and audit happen above (the gateway's tenant configs); this is the
 * versioned storage: a write or delete with a stale `expectedRevision` throws `RevisionConflictError` and changes
 * nothing (compare-and-set in one statement, safe across processes), and every change is announced to
 * `subscribe`rs of every process sharing the database (PostgreSQL `NOTIFY`; SQLite: none, readers poll `list`).
 */
export interface TenantConfigRepository {
  read(tenantId: string): Promise<TenantConfigRecord | undefined>;
  /** Every stored tenant with its current revision, by tenant id: cheap enough to poll every second. */
  list(): Promise<readonly { readonly tenantId: string; readonly revision: number }[]>;
  write(
    tenantId: string,
    document: Readonly<Record<string, unknown>>,
    change: TenantConfigChange,
  ): Promise<{ readonly revision: number }>;
  delete(tenantId: string, change: TenantConfigChange): Promise<void>;
  /** Revisions of a tenant, newest first (`document` undefined: deleted at that revision). */
  history(
    tenantId: string,
    limit?: number,
  ): Promise<
    readonly {
      readonly revision: number;
      readonly actor: string;
      readonly summary: string;
      readonly at: number;
      readonly deleted: boolean;
    }[]
  >;
  /** The document of the newest revision written by one of `actors` (e.g. the config file's), if any. */
  lastWrittenBy(tenantId: string, actors: readonly string[]): Promise<Readonly<Record<string, unknown>> | undefined>;
  /**
   * Calls `listener` with the tenant id after a change made by any process (this one included), as soon as the
   * database tells; resolves once listening. Returns the function that stops it. A store that cannot notify
   * (SQLite) resolves at once and never calls: its readers rely on polling `list`.
   */
  subscribe(listener: (tenantId: string) => void): Promise<() => Promise<void>>;
}

/** A service description added through the admin API: its text, keyed by its SHA-256 (hex). */
export interface StoredServiceDescription {
  readonly digest: string;
  readonly text: string;
  /** `upload`, or the URL it was fetched from. */
  readonly source: string;
}

/**
 * Description texts of services added through the admin API (migration `0030_service_descriptions`), per tenant,
 * by content: a stored tenant document names one as `stored:<sha256>`. Rows are written once and never changed.
 */
export interface ServiceDescriptionRepository {
  put(
    tenantId: string,
    description: StoredServiceDescription & { readonly at: number; readonly actor: string },
  ): Promise<void>;
  get(tenantId: string, digest: string): Promise<StoredServiceDescription | undefined>;
}

/**
 * What became of an alert: `logged` (no webhook configured), `queued` (waiting for the webhook), `delivered`,
 * `failed` (every retry failed) or `dropped` (the queue was full).
 */
export type AlertOutcome = 'logged' | 'queued' | 'delivered' | 'failed' | 'dropped';

/** One alert a tenant raised, as the admin API lists it. Ids and counts only. */
export interface AlertDelivery {
  readonly alertId: string;
  readonly rule: string;
  readonly about: string;
  readonly summary: string;
  readonly observed: number;
  readonly threshold: number;
  readonly raisedAt: number;
  readonly outcome: AlertOutcome | string;
  readonly updatedAt: number;
}

/** Alerts raised per tenant and their delivery outcome (migration `0031_alert_deliveries`). */
export interface AlertDeliveryRepository {
  record(
    tenantId: string,
    delivery: Omit<AlertDelivery, 'updatedAt'> & { readonly outcome: AlertOutcome },
  ): Promise<void>;
  setOutcome(tenantId: string, alertId: string, outcome: AlertOutcome, at: number): Promise<void>;
  /** The newest first. */
  recent(tenantId: string, limit: number): Promise<readonly AlertDelivery[]>;
}

/** Usage counters of one (tenant, day, toolset, tool). `day` is a UTC date, `YYYY-MM-DD`. */
export interface UsageRow {
  readonly tenantId: string;
  readonly day: string;
  readonly toolset: string;
  readonly tool: string;
  readonly calls: number;
  readonly errors: number;
  readonly denials: number;
  /** The sum of the latencies of its calls, in milliseconds (for the mean); 0 when not counted. */
  readonly latencyMsTotal?: number;
}

/** Summed usage: `latencyMsTotal` over `calls` is the mean latency. */
export interface UsageTotals {
  readonly calls: number;
  readonly errors: number;
  readonly denials: number;
  readonly latencyMsTotal: number;
}

export interface UsageSummary {
  readonly days: readonly (UsageTotals & { readonly day: string })[];
  readonly tools: readonly (UsageTotals & { readonly tool: string })[];
}

/** Daily usage rollups (migration `0005_usage_rollups`), written in batches by audit/. */
export interface UsageRepository {
  /** Adds each row's counts to the stored row of its key (creating it), in one transaction per tenant. */
  add(rows: readonly UsageRow[]): Promise<void>;
  /** A tenant's rows with `from <= day <= to` (inclusive dates), by day, toolset, tool. */
  query(tenantId: string, from: string, to: string): Promise<readonly UsageRow[]>;
  /**
   * A tenant's counts with `from <= day <= to` summed per day (oldest first) and per tool (the `topTools` most
   * called), by the database: a page reads a few dozen rows, not one per day and tool.
   */
  summarize(tenantId: string, from: string, to: string, topTools: number): Promise<UsageSummary>;
}

/** The database as `gatehouse doctor` sees it. */
export interface StoreInspection {
  readonly dialect: 'sqlite' | 'postgres';
  /** The database's own version, e.g. `PostgreSQL 15.19` or `SQLite 3.46.1`. */
  readonly serverVersion: string;
  /** Migrations of this release the database has not run yet, in order. */
  readonly pendingMigrations: readonly string[];
  /** Migrations the database has run that this release does not know: a newer release migrated it. */
  readonly unknownMigrations: readonly string[];
  /** The database server's clock (PostgreSQL), to measure skew; SQLite runs in this process's clock. */
  readonly databaseTime?: Date;
  /**
   * PostgreSQL: the role this store connects as, and whether row-level security binds it (false for a superuser,
   * a role with BYPASSRLS, or one owning the tables without FORCE: docs/operations.md "Tenant isolation").
   */
  readonly role?: {
    readonly name: string;
    readonly boundByRowLevelSecurity: boolean;
    /** True when it owns the store's tables (it could then drop the policies): a gateway should not. */
    readonly ownsTables: boolean;
    /** The role owning the store's tables; absent before the first migration created them. */
    readonly tablesOwner?: string;
  };
}

export interface MigrationOutcome {
  /**
   * Migrations the database has run that this release does not know (a newer release migrated it during a
   * rolling upgrade): nothing was migrated and this release serves on the newer, expand-only schema. Empty
   * normally.
   */
  readonly newerMigrations: readonly string[];
  /** The migrations this call ran, in order (empty when the store was up to date). */
  readonly applied: readonly string[];
}

export interface MigrateOptions {
  /**
   * PostgreSQL: the non-owner role the gateway serves as (config `store`, while `migrationStore` names the owner).
   * After migrating, it is granted use of the schema and reading and writing of the tables; it gets no DDL, and
   * on the migration bookkeeping tables only reading. Row-level security binds it.
   */
  readonly applicationRole?: string;
  /** Stops after this migration (upgrade tests run the previous release's schema); default: all of them. */
  readonly through?: string;
}

/** Rows a tenant purge deleted, per table (tables it deleted nothing from may be absent). */
export type TenantPurgeCounts = Readonly<Partial<Record<keyof StoreDatabase, number>>>;

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly tenants: TenantRepository;
  readonly clientKeys: ClientKeyRepository;
  readonly dataKeys: DataKeyRepository;
  readonly secrets: SecretRepository;
  readonly audit: AuditRepository;
  readonly approvals: ApprovalRepository;
  /** Tool calls waiting for a person's approval as MCP tasks (migration `0032_approval_tasks`). */
  readonly approvalTasks: ApprovalTaskRepository;
  /** OAuth connections and their tokens (migration `0003_connections`). */
  readonly connections: ConnectionRepository;
  /** Connect links, pending OAuth authorizations and link-signing keys (migration `0004_connect_flow`). */
  readonly connectFlow: ConnectFlowRepository;
  /** Daily usage per tenant, toolset and tool (migration `0005_usage_rollups`). */
  readonly usage: UsageRepository;
  /** Gatehouse's own authorization server: its artefacts, keys and remembered consents (0013, 0014). */
  readonly oauthServer: OAuthServerRepository;
  /** End users of each tenant, their password hashes and invites (migration `0016_users`). */
  readonly users: UserRepository;
  /** Server-side sign-in sessions of end users, by the SHA-256 of their id (migration `0017_user_sessions`). */
  readonly userSessions: UserSessionRepository;
  /** Operator console sessions ended by a sign-out, shared by every process (migration `0036_operator_session_ends`). */
  readonly operatorSessionEnds: OperatorSessionEndRepository;
  /** Roles of end users in their tenant (migration `0027_user_roles`). */
  readonly userRoles: UserRoleRepository;
  /** Personal API tokens of end users, by SHA-256 (migration `0028_user_api_tokens`). */
  readonly apiTokens: ApiTokenRepository;
  /** Each tenant's configuration as one versioned document (migration `0024_tenant_configs`, issue 14). */
  readonly tenantConfigs: TenantConfigRepository;
  /** Description texts of services added through the admin API (migration `0030_service_descriptions`). */
  readonly serviceDescriptions: ServiceDescriptionRepository;
  /** Alerts raised per tenant and what became of them (migration `0031_alert_deliveries`). */
  readonly alertDeliveries: AlertDeliveryRepository;
  /**
   * Deletes every row of a tenant except its audit log, data keys included (crypto-shredding), in one
   * transaction: `gatehouse tenant purge`, after it revoked the tenant's tokens upstream. What is kept is
   * `tenantPurgePlan` (purge-tenant.ts). Returns the rows deleted per table.
   */
  purgeTenant(tenantId: string): Promise<TenantPurgeCounts>;
  /**
   * Runs pending migrations; safe to call from several processes at once. On PostgreSQL they run with
   * `gatehouse.tenant=*` on their session, so a data migration sees every tenant's rows.
   */
  migrate(options?: MigrateOptions): Promise<MigrationOutcome>;
  /** What `gatehouse doctor` reports of the database; reads only (migrates nothing). */
  inspect(): Promise<StoreInspection>;
  /** Throws `store_unavailable` when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type ConnectionStatus = 'active' | 'needs_reauth' | 'revoked';

/**
 * One authorised account at a service (DESIGN.md §2): owned by (tenant, service, subject). Tokens are vault
 * ciphertexts (scope: tenant, owner `connection:<id>`, field `access_token` / `refresh_token`).
 * `tokenVersion` increases by one on every token change; writes of new tokens are fenced by it (RF-03).
 */
export interface ConnectionRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly service: string;
  readonly subject: string;
  readonly status: ConnectionStatus;
  /** Scopes the authorization server granted (the token response's `scope`, else the requested ones). */
  readonly scopes: readonly string[];
  readonly accessToken: Uint8Array | null;
  readonly refreshToken: Uint8Array | null;
  /** Epoch ms when the access token expires; null when the server did not say. */
  readonly accessExpiresAt: number | null;
  readonly tokenVersion: number;
  /** Consecutive failed refresh attempts (5xx, 429, timeouts) and when the next non-forced one may run. */
  readonly refreshFailures: number;
  readonly refreshCooldownUntil: number | null;
  /** Why the last refresh failed (migration 0034); null since the connection last connected or refreshed well. */
  readonly lastError: ConnectionError | null;
  /**
   * Base URL variables this connection filled when it connected (Salesforce `instanceUrl`, Atlassian `cloudId`),
   * checked by their rule before they were stored; `{}` when none.
   */
  readonly variables: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * A failed refresh as a person reads it: a stable `code` (`invalid_grant`, `server_error`, `timeout`...) and a
 * short message in the gateway's own words. Never text from the authorization server (it may echo a token).
 */
export interface ConnectionError {
  readonly code: string;
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
}

/** New tokens for a connection, committed only if the stored `tokenVersion` still equals `expectedVersion`. */
export interface TokenUpdate {
  readonly tenantId: string;
  readonly id: string;
  readonly expectedVersion: number;
  readonly accessToken: Uint8Array;
  /** Omit to keep the stored refresh token (a provider that does not rotate it, OA-14). */
  readonly refreshToken?: Uint8Array | null;
  readonly accessExpiresAt: number | null;
  readonly scopes: readonly string[];
  /** Replaces the stored variables (the refresh engine merges what a refresh answer brought over them); omit to keep. */
  readonly variables?: Readonly<Record<string, string>>;
  readonly at: number;
}

export interface ConnectionRepository {
  /** Creates or replaces the connection of (tenant, service, subject) with fresh tokens (version = old + 1). */
  upsert(
    record: Omit<
      ConnectionRecord,
      'tokenVersion' | 'refreshFailures' | 'refreshCooldownUntil' | 'updatedAt' | 'variables' | 'lastError'
    > & { readonly variables?: Readonly<Record<string, string>> },
  ): Promise<ConnectionRecord>;
  get(tenantId: string, id: string): Promise<ConnectionRecord | undefined>;
  find(tenantId: string, service: string, subject: string): Promise<ConnectionRecord | undefined>;
  list(tenantId: string): Promise<readonly ConnectionRecord[]>;
  /** Version-checked token write: returns the new record, or undefined when another writer got there first. */
  commitTokens(update: TokenUpdate): Promise<ConnectionRecord | undefined>;
  /**
   * Sets the status (e.g. `needs_reauth`), fenced by `expectedVersion` when given; `lastError` (e.g. the refused
   * grant) is stored with it when given.
   */
  setStatus(
    tenantId: string,
    id: string,
    status: ConnectionStatus,
    at: number,
    expectedVersion?: number,
    lastError?: ConnectionError,
  ): Promise<boolean>;
  /**
   * Records a failed refresh, why (`lastError`), and the cooldown before the next non-forced attempt. Fenced by
   * `expectedVersion` when given (a stale lock holder must not put a cooldown on tokens a sibling has just
   * refreshed). `commitTokens` and `upsert` clear the error.
   */
  recordRefreshFailure(
    tenantId: string,
    id: string,
    cooldownUntil: number,
    lastError: ConnectionError,
    expectedVersion?: number,
  ): Promise<void>;
  delete(tenantId: string, id: string): Promise<boolean>;
  /**
   * Runs `fn` holding the cross-process refresh lock of one connection and passes it the row as re-read under
   * the lock, plus the repository to write through while holding it (writes stay fenced by `tokenVersion`).
   * PostgreSQL: a transaction holding the row (`SELECT ... FOR UPDATE`) across `fn`, ended by the server when
   * idle longer than `leaseMs`; `fn`'s writes commit with the transaction, before this returns. SQLite: a lease
   * (owner, expiry) on the row, taken when free or expired and released by compare-and-delete on the owner.
   * Throws `credential_unavailable` (`details.reason: 'refresh_busy'`) when the lock is not taken within
   * `waitMs`, and `store_unavailable` when the store cannot be reached (then `fn` is not run).
   */
  withRefreshLock<T>(
    tenantId: string,
    id: string,
    options: RefreshLockOptions,
    fn: (locked: LockedConnection) => Promise<T>,
  ): Promise<T>;
}

export interface RefreshLockOptions {
  /** Identifies this holder (unique per attempt); a lease is released only by its owner. */
  readonly owner: string;
  /** How long the lock protects a holder that stops making progress. */
  readonly leaseMs: number;
  /** How long to wait for a sibling's lock before giving up. */
  readonly waitMs: number;
  /** The lease clock (epoch ms); the SQLite lease compares against it. */
  readonly now: () => number;
  /** True only when the holder `owner` has certainly exited: the SQLite lease is then taken over at once. */
  readonly isOwnerGone?: (owner: string) => boolean;
}

/** A connection while its refresh lock is held: the re-read row and the repository to write through. */
export interface LockedConnection {
  /** The row read after the lock was taken; undefined when the connection no longer exists. */
  readonly record: ConnectionRecord | undefined;
  readonly connections: Pick<ConnectionRepository, 'get' | 'commitTokens' | 'setStatus' | 'recordRefreshFailure'>;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'consumed';

/**
 * A request for a person to approve one exact tool call (SC-05). Bound to tenant, toolset, tool, client key,
 * subject and the SHA-256 of the canonical arguments; single use (`approved` -> `consumed` once); valid until
 * `expiresAt`. The link token is stored as its SHA-256 only.
 */
export interface ApprovalRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly toolset: string;
  readonly tool: string;
  readonly clientKeyId: string;
  readonly clientKeyName: string;
  readonly subject: string;
  readonly argsHash: string;
  /** The canonical arguments as JSON, shown to the approver. */
  readonly argsJson: string;
  /** The approval link's token, sealed by the vault (tenant data key); never stored in clear. */
  readonly sealedLinkToken: Uint8Array;
  readonly status: ApprovalStatus;
  readonly requestedAt: number;
  readonly expiresAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly consumedAt: number | null;
}

/** Identifies the one call an approval releases. */
export interface ApprovalBinding {
  readonly tenantId: string;
  readonly toolset: string;
  readonly tool: string;
  readonly clientKeyId: string;
  readonly subject: string;
  readonly argsHash: string;
}

export interface ApprovalRepository {
  insert(record: ApprovalRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<ApprovalRecord | undefined>;
  /** The newest approval of this exact binding that has not expired at `now` and is not consumed. */
  findLive(binding: ApprovalBinding, now: number): Promise<ApprovalRecord | undefined>;
  list(tenantId: string, options?: { status?: ApprovalStatus; limit?: number }): Promise<readonly ApprovalRecord[]>;
  /**
   * `pending` -> `approved`/`denied` when still pending and unexpired at `at`; sets who, when and the new
   * expiry. False when another decision or expiry got there first.
   */
  decide(
    tenantId: string,
    id: string,
    decision: 'approved' | 'denied',
    by: string,
    at: number,
    expiresAt: number,
  ): Promise<boolean>;
  /** `approved` -> `consumed`, atomically, only when unexpired at `at`: true for exactly one caller. */
  consume(tenantId: string, id: string, at: number): Promise<boolean>;
}

/**
 * `working`: waiting for a person's decision; `running`: one process claimed it and runs the call (shown to clients
 * as `working`); the other three are final.
 */
export type ApprovalTaskStatus = 'working' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * A `tools/call` that waits for a person's approval as an MCP task. Bound to the caller that created it (tenant,
 * toolset, client key, subject): no other caller reads or cancels it. The call's outcome, once it ends, is sealed by
 * the vault (tenant data key): it is the tool's result.
 */
export interface ApprovalTaskRecord {
  readonly tenantId: string;
  /** Unguessable (32 random characters). */
  readonly id: string;
  readonly toolset: string;
  readonly clientKeyId: string;
  readonly subject: string;
  readonly tool: string;
  readonly argsJson: string;
  /** The request id of the `tools/call` that created the task: the call's one outcome record carries it. */
  readonly requestId: string;
  /** The approval request the task waits for (a newer one when the approval was used by another call). */
  readonly approvalId: string;
  readonly status: ApprovalTaskStatus;
  readonly sealedOutcome: Uint8Array | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Until when the task is kept (its MCP `ttl` counts from `createdAt`). */
  readonly expiresAt: number;
}

export interface ApprovalTaskRepository {
  insert(record: ApprovalTaskRecord): Promise<void>;
  get(tenantId: string, id: string): Promise<ApprovalTaskRecord | undefined>;
  /**
   * Moves the task from `from` to `change.status` in one conditional update (`where status = from`): true for exactly
   * one caller across processes, false when another got there first.
   */
  transition(
    tenantId: string,
    id: string,
    from: ApprovalTaskStatus,
    change: {
      readonly status: ApprovalTaskStatus;
      readonly at: number;
      readonly approvalId?: string;
      readonly sealedOutcome?: Uint8Array;
    },
  ): Promise<boolean>;
  /**
   * Deletes up to `limit` tasks of every tenant kept past `expiresAt` at `now` and returns them: each deleted task is
   * returned to exactly one caller across processes (one `DELETE ... RETURNING`). A `running` task is taken only
   * when it was claimed at or before `claimedBefore` (its process died): a live claim ends the task itself.
   */
  takeExpired(now: number, claimedBefore: number, limit: number): Promise<readonly ApprovalTaskRecord[]>;
}

/** A signed, single-use link that starts the connect flow of (tenant, service, subject). Carries no secret. */
export interface ConnectLinkRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly service: string;
  readonly subject: string;
  /** Scopes to request (empty: the service's configured scopes). */
  readonly scopes: readonly string[];
  /** Same-origin relative path offered after the callback (checked by oauth/ `isSafeReturnPath`, OA-10). */
  readonly returnTo: string | null;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly createdAt: number;
}

/**
 * One redirect to an authorization server awaiting its callback (OA-02/03/04). Found by the SHA-256 of `state`;
 * single use (`consumedAt`), valid until `expiresAt`, bound to the browser session whose cookie hashes to
 * `sessionHash`. `codeVerifier` is a vault envelope (owner `authorization:<stateHash>`, field `code_verifier`).
 */
export interface PendingAuthorizationRecord {
  readonly tenantId: string;
  readonly stateHash: string;
  readonly linkId: string;
  readonly service: string;
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly codeVerifier: Uint8Array;
  readonly sessionHash: string;
  readonly expiresAt: number;
  readonly consumedAt: number | null;
  readonly createdAt: number;
  /**
   * After the code exchange, when the account can reach several Atlassian sites: the tokens and the sites to
   * choose from, a vault envelope (owner `authorization:<stateHash>`, field `site_choice`), until the person picks
   * one (migration `0035_connect_outcomes`). Null otherwise, and once taken.
   */
  readonly siteChoice: Uint8Array | null;
  /** Why the authorization did not complete once consumed (a short code such as `invalid_grant`); else null. */
  readonly failure: string | null;
}

export interface ConnectFlowRepository {
  insertLink(record: ConnectLinkRecord): Promise<void>;
  getLink(tenantId: string, id: string): Promise<ConnectLinkRecord | undefined>;
  /** Marks an unused, unexpired (at `at`) link used, atomically: true for exactly one caller. */
  useLink(tenantId: string, id: string, at: number): Promise<boolean>;
  insertAuthorization(record: Omit<PendingAuthorizationRecord, 'siteChoice' | 'failure'>): Promise<void>;
  getAuthorization(tenantId: string, stateHash: string): Promise<PendingAuthorizationRecord | undefined>;
  /** Marks an unconsumed, unexpired (at `at`) authorization consumed, atomically: true for exactly one caller. */
  consumeAuthorization(tenantId: string, stateHash: string, at: number): Promise<boolean>;
  /** Holds a consumed authorization's sealed site choice until `expiresAt` (its new expiry). */
  holdSiteChoice(tenantId: string, stateHash: string, sealed: Uint8Array, expiresAt: number): Promise<void>;
  /** Clears a held, unexpired (at `at`) site choice, atomically: true for exactly one caller. */
  takeSiteChoice(tenantId: string, stateHash: string, at: number): Promise<boolean>;
  /** Records why a consumed authorization did not complete (a short code, no secret). */
  recordFailure(tenantId: string, stateHash: string, failure: string): Promise<void>;
  /**
   * Stores `sealedKey` (a vault envelope) as the tenant's link-signing key unless one exists, and returns the
   * stored one (so racing processes agree on one key).
   */
  ensureLinkKey(tenantId: string, sealedKey: Uint8Array, at: number): Promise<Uint8Array>;
  /** Deletes links and authorizations that expired before `before`; returns how many rows went. */
  deleteExpired(before: number): Promise<number>;
}

export type UserStatus = 'active' | 'disabled';

/**
 * An end user of a tenant (issue 16). `name` is what a local user types to sign in (unique in the tenant);
 * `passwordHash` is a self-describing scrypt string (users/ `hashPassword`), null until the user has set one;
 * `ssoSubject` is `<issuer> <sub>` of a user who signs in through the tenant's identity provider; an invite is
 * stored as the SHA-256 of its token only.
 */
export interface UserRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly status: UserStatus;
  readonly passwordHash: string | null;
  readonly ssoSubject: string | null;
  readonly inviteHash: string | null;
  readonly inviteExpiresAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface UserRepository {
  /** Inserts a user; false when the tenant already has a user of this name (or of this `ssoSubject`). */
  insert(record: UserRecord): Promise<boolean>;
  get(tenantId: string, id: string): Promise<UserRecord | undefined>;
  findByName(tenantId: string, name: string): Promise<UserRecord | undefined>;
  findBySsoSubject(tenantId: string, ssoSubject: string): Promise<UserRecord | undefined>;
  /** The unexpired (at `at`) invite whose token hashes to `inviteHash`, with its user. */
  findByInvite(inviteHash: string, at: number): Promise<UserRecord | undefined>;
  list(tenantId: string): Promise<readonly UserRecord[]>;
  /** Sets the password hash. With `inviteHash`, only while that invite is still pending (single use); clears it. */
  setPassword(tenantId: string, id: string, passwordHash: string, at: number, inviteHash?: string): Promise<boolean>;
  /** Replaces the pending invite (a new link; the old one stops working). */
  setInvite(tenantId: string, id: string, inviteHash: string, expiresAt: number, at: number): Promise<boolean>;
  setStatus(tenantId: string, id: string, status: UserStatus, at: number): Promise<boolean>;
}

/** A server-side session: the cookie carries a random id, the store only its SHA-256 (`idHash`). */
export interface UserSessionRecord {
  readonly tenantId: string;
  readonly idHash: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface UserSessionRepository {
  insert(record: UserSessionRecord): Promise<void>;
  /** The unexpired (at `at`) session of this tenant with this id hash, and its user when that user is active. */
  findActive(
    tenantId: string,
    idHash: string,
    at: number,
  ): Promise<{ readonly session: UserSessionRecord; readonly user: UserRecord } | undefined>;
  delete(tenantId: string, idHash: string): Promise<boolean>;
  /** Ends every session of a user (disabled, password changed); returns how many. */
  deleteForUser(tenantId: string, userId: string): Promise<number>;
  /** Deletes sessions that expired before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}

/**
 * Operator console sessions that were signed out (finding operator_cookie_outlives_sign_out). The operator's cookie
 * is sealed and checked without the store; this records only the ones ended early, by the SHA-256 of the cookie
 * value (`idHash`), until the cookie would have expired anyway (`expiresAt`, epoch ms).
 */
export interface OperatorSessionEndRepository {
  /** Records the session as ended at `at`; ending it again changes nothing. */
  end(idHash: string, at: number, expiresAt: number): Promise<void>;
  /** Whether the session was ended (one primary-key lookup). */
  isEnded(idHash: string): Promise<boolean>;
  /** Deletes the records of cookies that expired before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}

/**
 * One artefact of the authorization server (an `oidc-provider` model instance: Session, Interaction, Grant,
 * AuthorizationCode, AccessToken, RefreshToken, Client ...). Keyed by the SHA-256 of its id, because the id of a
 * code or token is the credential itself; `payload` is a vault envelope of the provider's JSON. The other
 * columns are non-secret facts copied out of the payload for lookups and for checking a bearer token without
 * decrypting anything.
 */
export interface OAuthServerRecord {
  readonly tenantId: string;
  readonly model: string;
  readonly idHash: string;
  readonly payload: Uint8Array;
  readonly grantId: string | null;
  /** SHA-256 of a Session's `uid` (the provider looks sessions up by it). */
  readonly uidHash: string | null;
  /** The resource (RFC 8707) an access token is bound to. */
  readonly aud: string | null;
  readonly accountId: string | null;
  readonly clientId: string | null;
  /** Epoch ms; null = no expiry. */
  readonly expiresAt: number | null;
  /** Epoch ms when a code or refresh token was used (the provider's `consume`). */
  readonly consumedAt: number | null;
}

/** A consent a user gave an OAuth client for one toolset, remembered so it is asked once. */
export interface OAuthConsentRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly userId: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly toolset: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
}

export interface OAuthServerRepository {
  /** Inserts or replaces the artefact (tenant, model, idHash). */
  upsert(record: OAuthServerRecord): Promise<void>;
  find(tenantId: string, model: string, idHash: string): Promise<OAuthServerRecord | undefined>;
  findByUid(tenantId: string, model: string, uidHash: string): Promise<OAuthServerRecord | undefined>;
  /** Sets `consumedAt` once (a second consume keeps the first time). */
  consume(tenantId: string, model: string, idHash: string, at: number): Promise<void>;
  destroy(tenantId: string, model: string, idHash: string): Promise<void>;
  /** Deletes every artefact of a grant (codes, tokens, the grant): refresh-token reuse and revocation. */
  revokeByGrantId(tenantId: string, grantId: string): Promise<number>;
  /**
   * Deletes every artefact (grant, codes, access and refresh tokens) of the user's grants to one client for one
   * resource (a toolset's MCP URL): that consent was revoked. Grants of the client for other toolsets stay.
   */
  revokeGrantsFor(tenantId: string, accountId: string, clientId: string, resource: string): Promise<number>;
  /** Stores `sealed` as the tenant's keys unless some exist, and returns the stored ones (racing processes agree). */
  ensureKeys(tenantId: string, sealed: Uint8Array, at: number): Promise<Uint8Array>;
  /**
   * Deletes at most `limit` artefacts (codes, tokens, grants, sessions, interactions) that expired before `before`,
   * oldest first; returns how many (a full batch means more may be left).
   */
  deleteExpired(before: number, limit: number): Promise<number>;
  /** Inserts the consent, or refreshes the scopes and client name of the one of (tenant, user, client, toolset). */
  upsertConsent(record: OAuthConsentRecord): Promise<OAuthConsentRecord>;
  findConsent(
    tenantId: string,
    userId: string,
    clientId: string,
    toolset: string,
  ): Promise<OAuthConsentRecord | undefined>;
  listConsents(tenantId: string, userId: string): Promise<readonly OAuthConsentRecord[]>;
  /** Deletes the user's consent `id`; returns it (undefined when the user has none with that id). */
  deleteConsent(tenantId: string, userId: string, id: string): Promise<OAuthConsentRecord | undefined>;
}

/**
 * One role a user holds in their tenant (migration `0027_user_roles`). The store keeps the role's name; users/
 * owns the list of roles and what each allows.
 */
export interface UserRoleRecord {
  readonly tenantId: string;
  readonly userId: string;
  readonly role: string;
  readonly grantedAt: number;
  /** Who granted it: `admin` (the operator's token), `user:<id>`, or `config`. */
  readonly grantedBy: string;
}

export interface UserRoleRepository {
  /** The roles of one user, sorted by name. */
  list(tenantId: string, userId: string): Promise<readonly string[]>;
  /** Every role grant of a tenant, by user then role. */
  listTenant(tenantId: string): Promise<readonly UserRoleRecord[]>;
  /** Grants a role; false when the user already holds it. */
  grant(record: UserRoleRecord): Promise<boolean>;
  /** Revokes a role; false when the user did not hold it. */
  revoke(tenantId: string, userId: string, role: string): Promise<boolean>;
}

/**
 * A personal API token of a user, for scripts calling the admin API (migration `0028_user_api_tokens`). Only the
 * SHA-256 of the token is stored; `prefix` is a non-secret label shown in lists.
 */
export interface ApiTokenRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly hash: string;
  readonly prefix: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  /** When the token last authenticated, to about a minute (`recordUse`); null: never. Not written by `insert`. */
  readonly lastUsedAt: number | null;
}

export interface ApiTokenRepository {
  /** Inserts a token; false when the user already has a token of this name. */
  insert(record: Omit<ApiTokenRecord, 'lastUsedAt'>): Promise<boolean>;
  /** The unrevoked, unexpired (at `at`) token of this tenant with this hash, and its user when that user is active. */
  findActive(
    tenantId: string,
    hash: string,
    at: number,
  ): Promise<{ readonly token: ApiTokenRecord; readonly user: UserRecord } | undefined>;
  /** A tenant's tokens (revoked ones too), or one user's, newest first. */
  list(tenantId: string, userId?: string): Promise<readonly ApiTokenRecord[]>;
  /** Sets `revokedAt`; false when no such token of this tenant or already revoked. */
  revoke(tenantId: string, id: string, at: number): Promise<boolean>;
  /**
   * Records that token `tokenId` authenticated at `at`, unless its recorded last use is less than `granularityMs`
   * older (then nothing is written: one write per token per period, whichever process sees the use first).
   */
  recordUse(tenantId: string, tokenId: string, at: number, granularityMs: number): Promise<void>;
}
