import { configuresServer, GatehouseError, type ServiceConfig } from '../core/index.ts';
import {
  discoverResourceAuthorization,
  type OAuthFetch,
  type OAuthServiceAuth,
  type RegisteredClient,
  registerClient,
} from '../oauth/index.ts';
import type { Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';

/**
 * An `mcp:` service with `auth: { type: oauth2 }` naming no authorization server: its authorization is discovered
 * from the server itself (MCP authorization spec), and a client registered when no `clientId` is configured.
 */
export function discoversAuthorization(service: ServiceConfig): boolean {
  return service.mcp !== undefined && service.auth.type === 'oauth2' && !configuresServer(service.auth);
}

export interface FederatedAuthorizationDependencies {
  readonly store: Pick<Store, 'secrets'>;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: { now(): number };
  /** `{publicUrl}/oauth/callback`: the one redirect URI a registered client gets. */
  readonly redirectUri: string;
  /** The configured client secret of a service (stored at start), for services that configure their client. */
  readConfiguredSecret(tenant: string, service: string): Promise<string | undefined>;
  /** Sends discovery and registration requests (the SSRF-guarded fetch); default `fetch`. */
  readonly fetch?: OAuthFetch;
  readonly timeoutMs?: number;
}

/** A registration as kept in the vault: encrypted, one per tenant and service, shared by every process. */
interface StoredRegistration extends RegisteredClient {
  readonly issuer: string;
  readonly redirectUri: string;
}

const registrationField = 'client';
const ownerOf = (service: string) => `registration:${service}`;

/**
 * The OAuth settings of every `oauth2` service as the connect flow and the refresh engine use them. A configured
 * service's are its own. A discovering one's (`discoversAuthorization`) are learnt once per process at its first
 * use (a connect link, a refresh): the resource and its authorization server from the MCP server, the scopes from
 * its challenge or metadata (configured `scopes` win), and the client: the configured `clientId`, or one registered
 * dynamically (RFC 7591) and kept encrypted in the vault, so every process and restart uses the same registration
 * (registered again only when the issuer or the redirect URI changed). A failed discovery is not remembered: the
 * next use tries again.
 */
export function createFederatedAuthorization(deps: FederatedAuthorizationDependencies) {
  const discovered = new Map<string, Promise<OAuthServiceAuth>>();
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

  /** The stored registration for `issuer`, else a new one (the first stored by any process wins). */
  async function registrationOf(
    tenant: string,
    service: string,
    issuer: string,
    register: () => Promise<RegisteredClient>,
  ): Promise<StoredRegistration> {
    const stored = await deps.store.secrets.get(tenant, ownerOf(service), registrationField);
    const current = stored === undefined ? undefined : await readRegistration(tenant, service, stored.ciphertext);
    if (current?.issuer === issuer && current.redirectUri === deps.redirectUri) return current;
    const fresh: StoredRegistration = { ...(await register()), issuer, redirectUri: deps.redirectUri };
    const record = {
      tenantId: tenant,
      owner: ownerOf(service),
      field: registrationField,
      ciphertext: await deps.vault.encrypt(scope(tenant, service), JSON.stringify(fresh)),
      updatedAt: deps.clock.now(),
    };
    if (current !== undefined) {
      // A stale registration (another issuer or redirect URI) is replaced.
      await deps.store.secrets.put(record);
      return fresh;
    }
    return readRegistration(tenant, service, (await deps.store.secrets.putIfAbsent(record)).ciphertext);
  }

  function discover(tenant: string, service: ServiceConfig): Promise<OAuthServiceAuth> {
    const auth = service.auth as Extract<ServiceConfig['auth'], { type: 'oauth2' }>;
    const found = (async () => {
      const resource = await discoverResourceAuthorization(service.mcp as string, options(service.id));
      let clientId = auth.clientId;
      let authMethod = auth.tokenEndpointAuthMethod;
      if (clientId === undefined) {
        const registration = await registrationOf(tenant, service.id, resource.issuer, () =>
          registerClient(resource.metadata, deps.redirectUri, options(service.id)),
        );
        clientId = registration.clientId;
        authMethod = registration.authMethod === 'none' ? undefined : registration.authMethod;
      }
      const resolved: OAuthServiceAuth = {
        ...auth,
        issuer: resource.issuer,
        resource: auth.resource ?? resource.resource,
        scopes: auth.scopes.length > 0 ? auth.scopes : [...resource.scopes],
        clientId,
        ...(authMethod === undefined ? {} : { tokenEndpointAuthMethod: authMethod }),
      };
      return resolved;
    })();
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
      if (!discoversAuthorization(service)) {
        if (service.auth.clientId === undefined) {
          throw new GatehouseError('config_invalid', `Service ${service.id} has no auth.clientId`, {
            service: service.id,
          });
        }
        return service.auth as OAuthServiceAuth;
      }
      return discovered.get(key(tenant, service.id)) ?? discover(tenant, service);
    },

    /** The client secret of an `oauth2` service: its registration's, or the configured one (undefined: public). */
    async readClientSecret(tenant: string, service: ServiceConfig | undefined): Promise<string | undefined> {
      if (service === undefined) return undefined;
      if (!discoversAuthorization(service) || (service.auth.type === 'oauth2' && service.auth.clientId !== undefined)) {
        return deps.readConfiguredSecret(tenant, service.id);
      }
      const stored = await deps.store.secrets.get(tenant, ownerOf(service.id), registrationField);
      return stored === undefined
        ? undefined
        : (await readRegistration(tenant, service.id, stored.ciphertext)).clientSecret;
    },
  };
}

export type FederatedAuthorization = ReturnType<typeof createFederatedAuthorization>;
