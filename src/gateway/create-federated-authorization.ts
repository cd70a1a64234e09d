import { configuresServer, GatehouseError, type ServiceConfig } from '../core/index.ts';
import {
  clientMetadataDocumentUrlOf,
  discoverResourceAuthorization,
  type OAuthFetch,
  type OAuthServiceAuth,
  type RegisteredClient,
  redirectUriOf,
  registerClient,
  usesClientMetadataDocument,
} from '../oauth/index.ts';
import type { Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';

/**
 * An `mcp:` service with `auth: { type: oauth2 }` naming no authorization server: its authorization is discovered
 * from the server itself (MCP authorization spec), and when no `clientId` is configured the gateway identifies
 * itself by its client metadata document or a registered client.
 */
export function discoversAuthorization(service: ServiceConfig): boolean {
  return service.mcp !== undefined && service.auth.type === 'oauth2' && !configuresServer(service.auth);
}

export interface FederatedAuthorizationDependencies {
  readonly store: Pick<Store, 'secrets'>;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: { now(): number };
  /** The gateway's public URL: the redirect URI and the client metadata document's URL are under it. */
  readonly publicUrl: string;
  /** The configured client secret of a service (stored at start), for services that configure their client. */
  readConfiguredSecret(tenant: string, service: string): Promise<string | undefined>;
  /** Sends discovery and registration requests (the SSRF-guarded fetch); default `fetch`. */
  readonly fetch?: OAuthFetch;
  readonly timeoutMs?: number;
}

/**
 * The client of a service as kept in the vault: encrypted, one per tenant and service, shared by every process, so
 * the connect flow and every refresh use the client id the grant was made for. `via` says how the gateway became
 * that client: its client metadata document (the id is the document's URL, no secret) or a registration (RFC
 * 7591); records stored before metadata documents were supported have no `via` and are registrations.
 */
interface StoredRegistration extends RegisteredClient {
  readonly issuer: string;
  readonly redirectUri: string;
  readonly via?: 'metadata_document' | 'registration';
}

const registrationField = 'client';
const ownerOf = (service: string) => `registration:${service}`;

/** A registered client is registered again when its secret expires within this margin (or has expired). */
const secretMarginMs = 60_000;
/** After an `invalid_client`, a process registers again at most this often per service. */
const refusalIntervalMs = 60_000;

/**
 * The OAuth settings of every `oauth2` service as the connect flow and the refresh engine use them. A configured
 * service's are its own. A discovering one's (`discoversAuthorization`) are learnt once per process at its first
 * use (a connect link, a refresh): the resource and its authorization server from the MCP server, the scopes from
 * its challenge or metadata (configured `scopes` win). Its client, in the MCP authorization spec's order: the
 * configured `clientId`; else the gateway's client metadata document, when the authorization server supports them
 * (`usesClientMetadataDocument`: the id is `{publicUrl}/oauth/client-metadata.json`, nothing is registered) and
 * the service does not say `clientMetadataDocument: false`; else one registered dynamically (RFC 7591). The choice
 * is kept encrypted in the vault, read at every use so every process and restart uses the same client id. It is
 * chosen again when the issuer or the public URL changed, when the document was chosen and the service no longer
 * allows it, when a registered secret has expired or expires within a minute (`client_secret_expires_at`), and
 * when the authorization server refused the client (`refuseClient`: a refused document is followed by a
 * registration); of several processes doing so at once, the first to store its choice wins and all use it. A
 * server that starts supporting metadata documents later keeps its registered client (its grants are bound to
 * it). A failed discovery is not remembered: the next use tries again.
 */
export function createFederatedAuthorization(deps: FederatedAuthorizationDependencies) {
  const redirectUri = redirectUriOf(deps.publicUrl);
  const documentUrl = clientMetadataDocumentUrlOf(deps.publicUrl);
  const discovered = new Map<string, Promise<DiscoveredResource>>();
  /** Registrations under way in this process, so concurrent uses register once. */
  const registering = new Map<string, Promise<StoredRegistration>>();
  /** When this process last registered again after `invalid_client`, per service (see `refuseClient`). */
  const refusedAt = new Map<string, number>();
  const key = (tenant: string, service: string) => `${tenant}\u0000${service}`;
  const scope = (tenant: string, service: string) => ({
    tenantId: tenant,
    owner: ownerOf(service),
    field: registrationField,
  });
  const options = (service: string) => ({
    service,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
  });

  async function readRegistration(tenant: string, service: string, ciphertext: Uint8Array) {
    return JSON.parse(await deps.vault.decrypt(scope(tenant, service), ciphertext)) as StoredRegistration;
  }

  async function storedRegistration(tenant: string, service: string) {
    const stored = await deps.store.secrets.get(tenant, ownerOf(service), registrationField);
    return stored === undefined
      ? undefined
      : { ciphertext: stored.ciphertext, registration: await readRegistration(tenant, service, stored.ciphertext) };
  }

  const usable = (registration: StoredRegistration, issuer: string, service: ServiceConfig) =>
    registration.issuer === issuer &&
    registration.redirectUri === redirectUri &&
    (registration.via !== 'metadata_document' ||
      (registration.clientId === documentUrl && documentsAllowed(service))) &&
    (registration.secretExpiresAt === undefined || registration.secretExpiresAt - secretMarginMs > deps.clock.now());

  /**
   * The client for `resource`'s server: the metadata document where the server supports it (unless it was the one
   * refused), else a registration.
   */
  async function chooseClient(service: ServiceConfig, resource: DiscoveredResource, refused: string | undefined) {
    const stored = { issuer: resource.issuer, redirectUri };
    if (
      documentsAllowed(service) &&
      documentUrl !== refused &&
      usesClientMetadataDocument(resource.metadata, documentUrl)
    ) {
      return { clientId: documentUrl, authMethod: 'none', ...stored, via: 'metadata_document' } as const;
    }
    const client = await registerClient(resource.metadata, redirectUri, options(service.id));
    return { ...client, ...stored, via: 'registration' } as const;
  }

  /**
   * Chooses a client (`chooseClient`) and stores it in place of `stale` (the ciphertext read, undefined when there
   * was none); the client stored first, by this process or another, is the answer. One choice at a time per
   * service in this process.
   */
  function register(
    tenant: string,
    service: ServiceConfig,
    resource: DiscoveredResource,
    stale: Uint8Array | undefined,
    refused?: string,
  ): Promise<StoredRegistration> {
    const id = service.id;
    const running = registering.get(key(tenant, id));
    if (running !== undefined) return running;
    const done = (async () => {
      const fresh: StoredRegistration = await chooseClient(service, resource, refused);
      const record = {
        tenantId: tenant,
        owner: ownerOf(id),
        field: registrationField,
        ciphertext: await deps.vault.encrypt(scope(tenant, id), JSON.stringify(fresh)),
        updatedAt: deps.clock.now(),
      };
      const stored =
        stale === undefined
          ? await deps.store.secrets.putIfAbsent(record)
          : await deps.store.secrets.replaceIfUnchanged(record, stale);
      return readRegistration(tenant, id, stored.ciphertext);
    })().finally(() => registering.delete(key(tenant, id)));
    registering.set(key(tenant, id), done);
    return done;
  }

  /** The stored client when it is usable for `resource`'s issuer and the service's settings, else a new one. */
  async function registrationOf(tenant: string, service: ServiceConfig, resource: DiscoveredResource) {
    const current = await storedRegistration(tenant, service.id);
    if (current !== undefined && usable(current.registration, resource.issuer, service)) return current.registration;
    return register(tenant, service, resource, current?.ciphertext);
  }

  function discover(tenant: string, service: ServiceConfig): Promise<DiscoveredResource> {
    const found = discoverResourceAuthorization(service.mcp as string, options(service.id));
    discovered.set(key(tenant, service.id), found);
    found.catch(() => {
      if (discovered.get(key(tenant, service.id)) === found) discovered.delete(key(tenant, service.id));
    });
    return found;
  }

  return {
    /** The OAuth settings of an `oauth2` service (undefined for any other), discovering them at first use. */
    async authOf(tenant: string, service: ServiceConfig | undefined): Promise<OAuthServiceAuth | undefined> {
      if (service === undefined || service.auth.type !== 'oauth2') return undefined;
      const auth = service.auth;
      if (!discoversAuthorization(service)) {
        if (auth.clientId === undefined) {
          throw new GatehouseError('config_invalid', `Service ${service.id} has no auth.clientId`, {
            service: service.id,
          });
        }
        return auth as OAuthServiceAuth;
      }
      const resource = await (discovered.get(key(tenant, service.id)) ?? discover(tenant, service));
      let clientId = auth.clientId;
      let authMethod = auth.tokenEndpointAuthMethod;
      if (clientId === undefined) {
        const registration = await registrationOf(tenant, service, resource);
        clientId = registration.clientId;
        authMethod = registration.authMethod === 'none' ? undefined : registration.authMethod;
      }
      return {
        ...auth,
        issuer: resource.issuer,
        resource: auth.resource ?? resource.resource,
        scopes: auth.scopes.length > 0 ? auth.scopes : [...resource.scopes],
        clientId,
        ...(authMethod === undefined ? {} : { tokenEndpointAuthMethod: authMethod }),
      };
    },

    /** The client secret of an `oauth2` service: its registration's, or the configured one (undefined: public). */
    async readClientSecret(tenant: string, service: ServiceConfig | undefined): Promise<string | undefined> {
      if (service === undefined) return undefined;
      if (!registers(service)) return deps.readConfiguredSecret(tenant, service.id);
      return (await storedRegistration(tenant, service.id))?.registration.clientSecret;
    },

    /**
     * The authorization server answered `invalid_client` for `clientId` of (tenant, service): when that is the
     * stored client, it is dropped and a client chosen once more (once across processes; after a refused metadata
     * document, a registration). True when a client other than `clientId` is stored now (a request may be sent
     * again with it); false for a service whose client is configured, when registering failed, and when this
     * process chose again after a refusal less than a minute ago (a server refusing every client must not be sent a
     * registration per refresh).
     */
    async refuseClient(tenant: string, service: ServiceConfig | undefined, clientId: string): Promise<boolean> {
      if (service === undefined || !registers(service)) return false;
      try {
        const resource = await (discovered.get(key(tenant, service.id)) ?? discover(tenant, service));
        const current = await storedRegistration(tenant, service.id);
        if (current !== undefined && current.registration.clientId !== clientId) return true;
        // A server that refuses every client must not make each refresh register one: once a minute at most.
        const last = refusedAt.get(key(tenant, service.id));
        if (last !== undefined && deps.clock.now() - last < refusalIntervalMs) return false;
        refusedAt.set(key(tenant, service.id), deps.clock.now());
        const fresh = await register(tenant, service, resource, current?.ciphertext, clientId);
        return fresh.clientId !== clientId;
      } catch {
        return false;
      }
    },
  };
}

/** Whether the gateway may be the metadata document's client for `service` (`auth.clientMetadataDocument`). */
function documentsAllowed(service: ServiceConfig): boolean {
  return service.auth.type === 'oauth2' && service.auth.clientMetadataDocument !== false;
}

/** A discovering service without a configured `clientId`: its client is the document or a registration. */
function registers(service: ServiceConfig): boolean {
  return discoversAuthorization(service) && service.auth.type === 'oauth2' && service.auth.clientId === undefined;
}

type DiscoveredResource = Awaited<ReturnType<typeof discoverResourceAuthorization>>;

export type FederatedAuthorization = ReturnType<typeof createFederatedAuthorization>;
