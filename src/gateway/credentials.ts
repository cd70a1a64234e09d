import type { ServiceAuthConfig } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import type { ConnectFlow, FreshToken } from '../oauth/index.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { UpstreamCredential } from '../upstream/index.ts';
import type { Vault } from '../vault/index.ts';
import { sharedStepUpRefusal } from './connection-of.ts';
import { describeLinkOpener } from './decide-link-opener.ts';
import { nameSubject, subjectUserOf } from './describe-connection.ts';

/** The secret part of a static service credential, as stored (encrypted) in the vault. */
const secretField = 'credential';
/**
 * The one resolution of a service without auth: the same object every call, so what is keyed by the credential
 * sent (a federated server's session, its digest kept per credential object) is not worked out again per call.
 */
const noCredential: ResolvedCredential = Object.freeze({ credential: Object.freeze({ type: 'none' as const }) });
/** The scopes the authorization server left out of a connection's last consent (`rememberConsent`). */
const consentField = 'refused_scopes';
const consentOwnerOf = (connectionId: string) => `consent:${connectionId}`;

function ownerOf(service: string): string {
  return `service:${service}`;
}

function secretOf(auth: ServiceAuthConfig): string | undefined {
  switch (auth.type) {
    case 'apiKey':
      return auth.value;
    case 'bearer':
      return auth.token;
    case 'basic':
      return auth.password;
    case 'oauth2':
      return auth.clientSecret;
    default:
      return undefined;
  }
}

/**
 * Static service credentials: written to the store encrypted at start, read and decrypted per call by
 * `resolveCredential`, the one function that produces the credential of an upstream call. Ciphertexts are
 * cached in memory (never plaintext), so a call costs one AES-GCM decryption and no store read.
 */
export function createCredentials(store: Store, vault: Vault, oauth?: CredentialsOAuth) {
  const ciphertexts = new Map<string, Uint8Array>();
  // Static credentials decrypted once per ciphertext: a new ciphertext (storeStaticSecret) opens again. This keeps
  // no secret the process does not hold already: a static secret comes from the configuration, which stays in
  // memory, and the vault's data keys are in memory too. At-rest protection (ST-02) is unchanged; one AES-GCM
  // open per call was about 9% of a tool call's CPU.
  const openedStatic = new Map<
    string,
    { readonly ciphertext: Uint8Array; readonly auth: ServiceAuthConfig; readonly resolved: ResolvedCredential }
  >();
  const key = (tenant: string, service: string) => `${tenant}\u0000${service}`;

  /**
   * The one way a call learns it needs a person's consent: `code` with a fresh connect link of `target` in
   * `details.connectUrl` (asking for `connectScopes()`, else the service's configured scopes) and in the message.
   */
  async function connectRequired(
    flow: CredentialsOAuth,
    code: 'connection_required' | 'reauth_required',
    target: ConnectTarget,
    connectScopes?: () => readonly string[],
  ): Promise<GatehouseError> {
    const { tenant, service, subject } = target;
    const link = await flow.flow.createLink({
      tenant,
      service,
      subject,
      ...(connectScopes ? { scopes: connectScopes() } : {}),
    });
    const user = await subjectUserOf(store, tenant, subject);
    const whose = nameSubject(tenant, subject, user);
    const opener = describeLinkOpener(tenant, subject, user, flow.linkAloneConnects === true);
    return new GatehouseError(
      code,
      code === 'connection_required'
        ? `Service ${service} is not connected for ${whose}. Ask ${opener} to open ${link.authorizeUrl} to connect it (the link is valid for 10 minutes); then call the tool again.`
        : `The connection to ${service} for ${whose} must be authorised again. Ask ${opener} to open ${link.authorizeUrl} (valid for 10 minutes); then call the tool again.`,
      { service, connectUrl: link.authorizeUrl, expiresAt: new Date(link.expiresAt).toISOString() },
    );
  }

  /**
   * `error` as the person can act on it: a `connection_required` / `reauth_required` without a link (those of
   * `resolveCredential` and of the refresh engine, which mint none) becomes the same error with a fresh connect link
   * for `target`; a federated server's `upstream_insufficient_scope` gets its step-up link (`stepUp`); any other
   * error is returned as is. Only a request a person sees (a tool call, a resource read) asks for this: a link minted
   * for a background listing would be one nobody opens.
   */
  async function withConnectLink(
    error: unknown,
    target: ConnectTarget,
    connectScopes?: () => readonly string[],
    ceiling: readonly string[] = [],
  ): Promise<unknown> {
    if (oauth === undefined || !(error instanceof GatehouseError)) return error;
    if (error.code === 'upstream_insufficient_scope') return stepUp(oauth, error, target, ceiling);
    if (
      (error.code !== 'connection_required' && error.code !== 'reauth_required') ||
      typeof error.details?.['connectUrl'] === 'string'
    ) {
      return error;
    }
    return connectRequired(oauth, error.code, target, connectScopes);
  }

  /**
   * The MCP authorization spec's step-up: the server refused the connection's token for lacking `missingScopes`, so
   * the person is asked to consent to the union of what the connection was granted and what the server challenged
   * (`details.stepUpUrl`, a connect link of `target`). No link when it could change nothing, so a person is never
   * sent round the same consent again: the challenge names no scope (`details.reason: unnamed`), the grant already
   * names every challenged scope (`granted`: the server refuses what its authorization server says it granted), or
   * the authorization server left every challenged scope the grant lacks out of the last consent that asked for it
   * (`refused`, `rememberConsent`), or the service's configured `scopes` (`ceiling`, when not empty) lack one of
   * them (`ceiling`: the operator's list bounds what its connections are asked for). A static credential, a
   * missing connection and a shared service's connection (`shared`: `sharedStepUpRefusal`) get no link either.
   */
  async function stepUp(
    flow: CredentialsOAuth,
    error: GatehouseError,
    target: ConnectTarget,
    ceiling: readonly string[],
  ): Promise<GatehouseError> {
    const { tenant, service, subject } = target;
    const challenged = (error.details['missingScopes'] ?? []) as readonly string[];
    const connection = await store.connections.find(tenant, service, subject);
    if (connection === undefined || typeof error.details['stepUpUrl'] === 'string') return error;
    const granted = new Set(connection.scopes);
    const lacking = challenged.filter((scope) => !granted.has(scope));
    const refused = new Set(await refusedAtLastConsent(tenant, connection.id));
    const beyond = ceiling.length === 0 ? [] : lacking.filter((scope) => !ceiling.includes(scope));
    const stuck: 'unnamed' | 'granted' | 'ceiling' | 'refused' | undefined =
      challenged.length === 0
        ? 'unnamed'
        : lacking.length === 0
          ? 'granted'
          : beyond.length > 0
            ? 'ceiling'
            : lacking.every((scope) => refused.has(scope))
              ? 'refused'
              : undefined;
    if (stuck !== undefined) {
      const why = {
        unnamed: 'it named no scope to ask for',
        granted: `the connection was granted ${challenged.join(' ')} already, so connecting again would ask for nothing new`,
        ceiling: `service ${service}'s configured scopes do not include ${beyond.join(' ')}; an operator may add them`,
        refused: `its authorization server did not grant ${lacking.join(' ')} when last asked; an operator can make a connect link for them on the console or with the admin API`,
      }[stuck];
      return new GatehouseError('upstream_insufficient_scope', `${error.message}; no step-up link: ${why}`, {
        ...error.details,
        reason: stuck,
      });
    }
    if (target.shared === true) return sharedStepUpRefusal(error);
    const scopes = [...new Set([...connection.scopes, ...challenged])];
    const link = await flow.flow.createLink({ tenant, service, subject, scopes });
    const opener = describeLinkOpener(
      tenant,
      subject,
      await subjectUserOf(store, tenant, subject),
      flow.linkAloneConnects === true,
    );
    return new GatehouseError(
      'upstream_insufficient_scope',
      `${error.message}. Ask ${opener} to open ${link.authorizeUrl} to grant ${lacking.join(', ')} (valid for 10 minutes); then call again.`,
      {
        ...error.details,
        grantedScopes: [...connection.scopes],
        stepUpUrl: link.authorizeUrl,
        expiresAt: new Date(link.expiresAt).toISOString(),
      },
    );
  }

  async function refusedAtLastConsent(tenant: string, connectionId: string): Promise<readonly string[]> {
    const owner = consentOwnerOf(connectionId);
    const stored = await store.secrets.get(tenant, owner, consentField);
    if (stored === undefined) return [];
    const read = JSON.parse(
      await vault.decrypt({ tenantId: tenant, owner, field: consentField }, stored.ciphertext),
    ) as unknown;
    return Array.isArray(read) ? read.filter((scope): scope is string => typeof scope === 'string') : [];
  }

  async function cipherOf(tenant: string, service: string): Promise<Uint8Array | undefined> {
    let ciphertext = ciphertexts.get(key(tenant, service));
    if (ciphertext === undefined) {
      ciphertext = (await store.secrets.get(tenant, ownerOf(service), secretField))?.ciphertext;
      if (ciphertext !== undefined) ciphertexts.set(key(tenant, service), ciphertext);
    }
    return ciphertext;
  }

  return {
    /**
     * Remembers what the authorization server left out of a consent (the scopes asked for and not granted) for the
     * connection it made, so a step-up that asked for them is not offered again (`withConnectLink`); a consent that
     * granted everything forgets it.
     */
    async rememberConsent(consent: {
      readonly tenant: string;
      readonly connectionId: string;
      readonly scopes: readonly string[];
      readonly requestedScopes: readonly string[];
      readonly at: number;
    }): Promise<void> {
      const owner = consentOwnerOf(consent.connectionId);
      const refused = consent.requestedScopes.filter((scope) => !consent.scopes.includes(scope));
      if (refused.length === 0) {
        await store.secrets.deleteByOwner(consent.tenant, owner);
        return;
      }
      const scope = { tenantId: consent.tenant, owner, field: consentField };
      const ciphertext = await vault.encrypt(scope, JSON.stringify(refused));
      await store.secrets.put({ ...scope, ciphertext, updatedAt: consent.at });
    },

    /** Encrypts a service's configured secret into the store (replacing an older one). */
    async storeStaticSecret(tenant: string, service: string, auth: ServiceAuthConfig, at: number): Promise<void> {
      const secret = secretOf(auth);
      const owner = ownerOf(service);
      openedStatic.delete(key(tenant, service));
      if (secret === undefined) {
        await store.secrets.deleteByOwner(tenant, owner);
        ciphertexts.delete(key(tenant, service));
        return;
      }
      const ciphertext = await vault.encrypt({ tenantId: tenant, owner, field: secretField }, secret);
      await store.secrets.put({ tenantId: tenant, owner, field: secretField, ciphertext, updatedAt: at });
      ciphertexts.set(key(tenant, service), ciphertext);
    },

    /** The decrypted OAuth client secret of a service (stored at start), or undefined for a public client. */
    async readClientSecret(tenant: string, service: string): Promise<string | undefined> {
      const ciphertext = await cipherOf(tenant, service);
      if (ciphertext === undefined) return undefined;
      return vault.decrypt({ tenantId: tenant, owner: ownerOf(service), field: secretField }, ciphertext);
    },

    withConnectLink,

    /**
     * The credential to inject into a call to `service` on behalf of `tenant`. For an `oauth2` service: the
     * access token of the connection of (tenant, service, `subject`) (the caller's subject), through the refresh
     * seam; without a usable connection `connection_required` / `reauth_required`, with no link: a caller a person
     * sees passes the error through `withConnectLink` (a background listing does not, so it mints no link). With
     * `grant: client_credentials`: the service's own token (no subject). `known`: the connection row of (tenant,
     * service, subject) the caller already read this call (null: none), so it is not read twice. `variables`: the
     * per-connection variables the service's base URL needs; a connection without one of them (made before the
     * gateway discovered them) must be authorised again.
     */
    async resolveCredential(
      tenant: string,
      service: string,
      auth: ServiceAuthConfig,
      subject = '',
      known?: ConnectionRecord | null,
      variables: readonly string[] = [],
    ): Promise<ResolvedCredential> {
      if (auth.type === 'none') return noCredential;
      if (auth.type === 'oauth2') {
        if (oauth === undefined) {
          throw new GatehouseError('connection_required', `Service ${service} needs an OAuth connection`, { service });
        }
        if (auth.grant === 'client_credentials') {
          const connection = await oauth.flow.clientCredentialsConnection(tenant, service);
          return { credential: toOAuthCredential(auth, await oauth.flow.readAccessToken(connection)) };
        }
        const connection =
          known === undefined ? await store.connections.find(tenant, service, subject) : (known ?? undefined);
        const usable =
          connection?.status === 'active' && variables.every((name) => Object.hasOwn(connection.variables, name));
        if (connection === undefined) {
          throw new GatehouseError('connection_required', `Service ${service} has no connection of ${subject}`, {
            service,
          });
        }
        if (!usable) {
          throw new GatehouseError(
            'reauth_required',
            `The connection to ${service} of ${subject} must be authorised again`,
            { service },
          );
        }
        if (oauth.ensureFresh === undefined) {
          return {
            credential: toOAuthCredential(auth, await oauth.flow.readAccessToken(connection)),
            variables: connection.variables,
          };
        }
        const token = await oauth.ensureFresh(connection);
        return {
          credential: toOAuthCredential(auth, token.accessToken),
          connectionId: connection.id,
          token,
          variables: token.variables ?? connection.variables,
        };
      }
      // The cached ciphertext without an extra async hop (the common case); the store only on a miss.
      const serviceKey = key(tenant, service);
      const ciphertext = ciphertexts.get(serviceKey) ?? (await cipherOf(tenant, service));
      if (ciphertext === undefined) {
        throw new GatehouseError('credential_unavailable', `No stored credential for service ${service}`, {
          service,
        });
      }
      const opened = openedStatic.get(serviceKey);
      if (opened !== undefined && opened.ciphertext === ciphertext && opened.auth === auth) return opened.resolved;
      const secret = await vault.decrypt({ tenantId: tenant, owner: ownerOf(service), field: secretField }, ciphertext);
      const resolved: ResolvedCredential = { credential: staticCredential(auth, secret) };
      openedStatic.set(serviceKey, { ciphertext, auth, resolved });
      return resolved;
    },
  };
}

/** An OAuth access token as sent: `Authorization: Bearer`, or where the service's `tokenHeader` puts it. */
export function toOAuthCredential(auth: ServiceAuthConfig, accessToken: string): UpstreamCredential {
  const placement = auth.type === 'oauth2' ? auth.tokenHeader : undefined;
  return { type: 'bearer', token: accessToken, ...(placement === undefined ? {} : { placement }) };
}

function staticCredential(
  auth: Extract<ServiceAuthConfig, { type: 'apiKey' | 'bearer' | 'basic' }>,
  secret: string,
): UpstreamCredential {
  switch (auth.type) {
    case 'apiKey':
      return { type: 'apiKey', in: auth.in, name: auth.name, value: secret, prefix: auth.prefix };
    case 'bearer':
      return { type: 'bearer', token: secret };
    case 'basic':
      return { type: 'basic', username: auth.username, password: secret };
  }
}

export type Credentials = ReturnType<typeof createCredentials>;

/**
 * The credential of one upstream call. For a user connection refreshed by the engine, also the connection and the
 * token as read (its version): a 401 to that token forces a refresh naming exactly that version (OA-16, RF-04).
 */
export interface ResolvedCredential {
  readonly credential: UpstreamCredential;
  readonly connectionId?: string;
  readonly token?: FreshToken;
  /** The connection's base URL variables (Salesforce `instanceUrl`, Atlassian `cloudId`), as the token was read. */
  readonly variables?: Readonly<Record<string, string>>;
}

/** Whose connection a connect link is for: the tenant, the service and the subject of the call. */
export interface ConnectTarget {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  /** The connection serves every caller (a shared service): a call gets no step-up link (`sharedStepUpRefusal`). */
  readonly shared?: boolean;
}

/** The OAuth side of credentials: the connect flow, and the refresh engine's seam. */
export interface CredentialsOAuth {
  readonly flow: Pick<ConnectFlow, 'createLink' | 'clientCredentialsConnection' | 'readAccessToken'>;
  /**
   * The refresh seam: an access token of `connection` usable now (refreshed ahead of expiry by the refresh
   * engine), with its version. Absent: the stored access token as is.
   */
  readonly ensureFresh?: (connection: ConnectionRecord) => Promise<FreshToken>;
  /** `connectLinks.unsafeLinkAloneConnects`: whoever holds a link of a subject that is no user's may open it. */
  readonly linkAloneConnects?: boolean;
}
