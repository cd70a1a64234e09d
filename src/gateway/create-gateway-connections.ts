import { type AuditLog, createTenantRecordCap, type GatewayMetrics, isAuditTarget } from '../audit/index.ts';
import type { Clock, Config, ServiceConfig, TenantConfig } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import {
  type CompletedConnection,
  type ConnectFlow,
  clientCredentialsSubject,
  clientMetadataDocumentOf,
  createConnectFlow,
  type OAuthFetch,
  type SiteChoice,
  type StartedAuthorization,
} from '../oauth/index.ts';
import type { Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { ServiceRuntime } from './build-tenants.ts';
import type { FederatedAuthorization } from './create-federated-authorization.ts';
import { decideLinkOpener, type LinkOpener, type LinkOpening } from './decide-link-opener.ts';
import { describeService, describeSubject, nameSubject, subjectUserOf } from './describe-connection.ts';

/** A connection as an operator sees it: never a token, only status, grant and expiry. */
export interface ConnectionSummary {
  readonly id: string;
  readonly service: string;
  readonly subject: string;
  readonly status: 'active' | 'needs_reauth' | 'revoked';
  readonly scopes: readonly string[];
  readonly accessExpiresAt: string | null;
  readonly hasRefreshToken: boolean;
  /** Consecutive failed refresh attempts (5xx, 429, timeouts); 0 after a successful one. */
  readonly refreshFailures: number;
  /**
   * Why the last refresh failed: a code (`invalid_grant`, `server_error`, `timeout`...) and a message in the
   * gateway's words (never the server's text); null since the last connect or good refresh.
   */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ConnectLinkAnswer {
  readonly authorizeUrl: string;
  readonly expiresAt: string;
}

/** A connection just made, with what the page after consent tells the person (`describeService`/`describeSubject`). */
export interface ConnectedAccount extends CompletedConnection {
  /** The service as a person recognises it: `Swagger Petstore (pets)`, or the id. */
  readonly serviceName: string;
  /** Whom it serves: `user Ada`, `alice`, or everyone using the tenant's shared connection. */
  readonly subjectName: string;
}

/** A connect link as its page names it: the service and whom the connection will serve. */
export interface ConnectLinkView {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  /** The service as a person recognises it: `Swagger Petstore (pets)`, or the id. */
  readonly serviceName: string;
  /** Whom it serves: `user Ada`, `alice`, or everyone using the tenant's shared connection. */
  readonly subjectName: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** What a visit to a connect link gets: the authorization started, or what the page must ask or say instead. */
export type OpenedLink =
  | {
      readonly kind: 'started';
      readonly started: StartedAuthorization;
      /** The service as a person recognises it (`describeService`), for a page that sends them on to it. */
      readonly serviceName: string;
    }
  | (Exclude<LinkOpening, { kind: 'open' }> & { readonly link: ConnectLinkView; readonly opener: LinkOpener });

/** The sites to choose from, with the service and whom it serves named as the page after consent names them. */
export interface DescribedSiteChoice extends SiteChoice {
  /** The service as a person recognises it: `Jira Cloud (jira)`, or the id. */
  readonly serviceName: string;
  /** Whom the connection will serve: `user Ada`, `alice`, or everyone using the tenant's shared connection. */
  readonly subjectName: string;
}

/**
 * The connect flow as the transports see it: the admin API (list, link, disconnect) and the browser routes
 * (`/connect/<id>`, `/oauth/callback`, the site chooser's `/oauth/callback/site`). Every method naming a tenant answers `not_found` for an unknown one.
 */
export interface GatewayConnections {
  list(tenant: string): Promise<readonly ConnectionSummary[]>;
  createLink(
    tenant: string,
    request: { service: string; subject: string; scopes?: readonly string[]; returnTo?: string },
  ): Promise<ConnectLinkAnswer>;
  /** Revokes the tokens upstream where the server supports RFC 7009, then deletes the connection. */
  /** Audited (`connect`, detail `disconnected...`, subject `actor`: who disconnected it). */
  disconnect(tenant: string, id: string, actor: string): Promise<{ readonly revoked: boolean }>;
  /**
   * `/connect/<id>?sig=`: checks the link (else `not_found`), then who may open it (`decideLinkOpener`), asking
   * `openerOf` who is at the browser for the link's tenant. Only an opening that is allowed uses the link up and
   * starts the authorization; a refusal is audited (`connect`, `deny`). `confirmed`: the person confirmed the
   * subject on the confirmation page (a subject that is no user's).
   */
  openLink(
    id: string,
    sig: string | null,
    openerOf: (tenant: string) => Promise<LinkOpener>,
    confirmed: boolean,
  ): Promise<OpenedLink>;
  /** The connection made, or the sites to choose from (an Atlassian account with several, none pinned). */
  completeCallback(
    params: URLSearchParams,
    cookies: Readonly<Record<string, string>>,
  ): Promise<ConnectedAccount | DescribedSiteChoice>;
  /** The site chooser's answer: `site` must be one of the sites offered to this browser for `state`. */
  chooseSite(
    state: string | null,
    site: string | null,
    cookies: Readonly<Record<string, string>>,
  ): Promise<ConnectedAccount>;
  /** A fresh connect link for a callback of this browser that failed or expired; else undefined. */
  retryLink(params: URLSearchParams, cookies: Readonly<Record<string, string>>): Promise<string | undefined>;
  /** Whether the session cookie gets `Secure` (the public URL is https). */
  readonly secureCookie: boolean;
  /**
   * The gateway's client metadata document (served at `{publicUrl}/oauth/client-metadata.json`), its client id at
   * authorization servers that support metadata documents (see `createFederatedAuthorization`).
   */
  readonly clientMetadataDocument: Readonly<Record<string, unknown>>;
}

export interface GatewayConnectionsDependencies {
  readonly config: Config;
  /** The tenants served now (they come and go at run time, issue 14); absent: the config's. */
  readonly tenantOf?: (tenantId: string) => TenantConfig | undefined;
  readonly store: Store;
  readonly vault: Vault;
  readonly clock: Clock;
  /** The OAuth settings and client secret of each service (an `mcp:` service's discovered at first use). */
  readonly authorization: Pick<FederatedAuthorization, 'authOf' | 'readClientSecret' | 'refuseClient'>;
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'>;
  /** Counts rejected callbacks and refused connect links, audited or over the cap. */
  readonly metrics?: Pick<GatewayMetrics, 'oauthStateRejections' | 'connectLinkRefusals'>;
  /** Sends every request to an authorization server (the gateway's SSRF-guarded fetch); default `fetch`. */
  readonly fetch?: OAuthFetch;
  /** The runtime of a served service (its description's title names it on the page after consent). */
  serviceOf?(tenant: string, service: string): ServiceRuntime | undefined;
  /** A person completed a connection (awaited before the callback page is answered). */
  onConnected?(connection: CompletedConnection): Promise<void>;
}

/** Builds the connect flow over the configured oauth2 services and its use cases. */
export function createGatewayConnections(deps: GatewayConnectionsDependencies): {
  readonly flow: ConnectFlow;
  readonly connections: GatewayConnections;
} {
  const { config, store, clock } = deps;
  const tenantConfigOf = deps.tenantOf ?? ((id: string) => config.tenants.find((t) => t.id === id));
  // Read from the tenant served now, so a service or tenant added at run time connects at once.
  const oauthServiceOf = (tenant: string, id: string): ServiceConfig | undefined => {
    const service = tenantConfigOf(tenant)?.services.find((candidate) => candidate.id === id);
    return service?.auth.type === 'oauth2' ? service : undefined;
  };
  // A rejected callback needs no credential, only a state the flow has seen: the same per-tenant cap as admin
  // denials keeps a caller from growing a tenant's append-only log at request rate.
  const admitRejection = createTenantRecordCap();
  const flow = createConnectFlow({
    store,
    sealer: deps.vault,
    clock,
    publicUrl: config.publicUrl,
    findService: (tenant, service) => deps.authorization.authOf(tenant, oauthServiceOf(tenant, service)),
    readClientSecret: (tenant, service) => deps.authorization.readClientSecret(tenant, oauthServiceOf(tenant, service)),
    refuseClient: (tenant, service, clientId) =>
      deps.authorization.refuseClient(tenant, oauthServiceOf(tenant, service), clientId),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    // The one call site of the connect flow's security events (OA-02/03/04 rejections, connects, disconnects).
    onSecurityEvent: (event) => {
      if (tenantConfigOf(event.tenant) === undefined) return;
      if (event.event === 'oauth_state_rejected') {
        const audited = admitRejection(event.tenant);
        deps.metrics?.oauthStateRejections.inc({ tenant: event.tenant, audited: audited ? 'true' : 'false' });
        if (!audited) return;
      }
      return deps.audit.recordSecurityEvent(event);
    },
  });

  /** `done` with its service and subject named for the person (`describeService`, `describeSubject`). */
  async function describe<T extends Pick<CompletedConnection, 'tenant' | 'service' | 'subject'>>(
    done: T,
  ): Promise<T & { readonly serviceName: string; readonly subjectName: string }> {
    return {
      ...done,
      serviceName: describeService(
        done.service,
        oauthServiceOf(done.tenant, done.service),
        deps.serviceOf?.(done.tenant, done.service),
      ),
      subjectName: await describeSubject(store, done.tenant, done.subject),
    };
  }

  function tenantOf(tenant: string): void {
    if (tenantConfigOf(tenant) === undefined) throw new GatehouseError('not_found', `No tenant ${tenant}`);
  }

  const connections: GatewayConnections = {
    secureCookie: flow.secureCookie,
    clientMetadataDocument: clientMetadataDocumentOf(config.publicUrl),
    async list(tenant) {
      tenantOf(tenant);
      return (await store.connections.list(tenant))
        .filter((c) => c.subject !== clientCredentialsSubject)
        .map((c) => ({
          id: c.id,
          service: c.service,
          subject: c.subject,
          status: c.status,
          scopes: c.scopes,
          accessExpiresAt: c.accessExpiresAt === null ? null : new Date(c.accessExpiresAt).toISOString(),
          hasRefreshToken: c.refreshToken !== null,
          refreshFailures: c.refreshFailures,
          lastError: c.lastError === null ? null : { ...c.lastError, at: new Date(c.lastError.at).toISOString() },
          createdAt: new Date(c.createdAt).toISOString(),
          updatedAt: new Date(c.updatedAt).toISOString(),
        }));
    },
    async createLink(tenant, request) {
      tenantOf(tenant);
      const link = await flow.createLink({ tenant, ...request });
      return { authorizeUrl: link.authorizeUrl, expiresAt: new Date(link.expiresAt).toISOString() };
    },
    async disconnect(tenant, id, actor) {
      tenantOf(tenant);
      return flow.disconnect(tenant, id, actor);
    },
    async openLink(id, sig, openerOf, confirmed) {
      const link = await flow.inspectLink(id, sig);
      tenantOf(link.tenant);
      const linkUser = await subjectUserOf(store, link.tenant, link.subject);
      const opener = await openerOf(link.tenant);
      const opening = decideLinkOpener(link.subject, linkUser, opener, {
        linkAloneConnects: config.connectLinks.unsafeLinkAloneConnects,
        confirmed,
      });
      const serviceName = describeService(
        link.service,
        oauthServiceOf(link.tenant, link.service),
        deps.serviceOf?.(link.tenant, link.service),
      );
      if (opening.kind === 'open') {
        return { kind: 'started', started: await flow.startAuthorization(link), serviceName };
      }
      if (opening.kind === 'refused') {
        const reason = opening.reason === 'other_user' ? 'link_of_another_user' : 'link_needs_admin';
        const audited = admitRejection(link.tenant);
        // Over the cap a refusal is still counted (finding connect_link_refusals_over_cap_leave_no_trace).
        deps.metrics?.connectLinkRefusals.inc({ tenant: link.tenant, reason, audited: audited ? 'true' : 'false' });
        if (audited) {
          // Recorded under who was refused (finding connect_link_refusal_audited_under_victim): under the link's
          // subject, the record would name the person the link is for as the one who tried, and nobody else.
          const linkTarget = `service:${link.service}/subject:${link.subject}`;
          await deps.audit.recordSecurityEvent({
            tenant: link.tenant,
            event: 'connect',
            decision: 'deny',
            subject: opener.user?.id ?? 'operator',
            code: 'forbidden',
            detail: reason,
            // A subject outside the audit's id characters would make the whole target `invalid`: the service alone.
            target: isAuditTarget(linkTarget) ? linkTarget : `service:${link.service}`,
          });
        }
      }
      return {
        ...opening,
        opener,
        link: {
          tenant: link.tenant,
          service: link.service,
          subject: link.subject,
          serviceName,
          // The link's user was read above: named without a second lookup.
          subjectName: nameSubject(link.tenant, link.subject, linkUser),
          expiresAt: link.expiresAt,
        },
      };
    },
    async completeCallback(params, cookies) {
      const answer = await flow.completeCallback(params, cookies);
      // A site still to choose is not a connection yet: chooseSite completes it.
      if ('sites' in answer) return describe(answer);
      await deps.onConnected?.(answer);
      return describe(answer);
    },
    async chooseSite(state, site, cookies) {
      const completed = await flow.chooseSite(state, site, cookies);
      await deps.onConnected?.(completed);
      return describe(completed);
    },
    retryLink: (params, cookies) => flow.retryLink(params, cookies),
  };
  return { flow, connections };
}
