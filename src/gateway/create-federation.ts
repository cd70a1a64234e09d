import { isDeepStrictEqual } from 'node:util';
import { createScrubber, scrubJson } from '../audit/index.ts';
import {
  applyOverlays,
  bindCatalog,
  type McpFeatures,
  noMcpFeatures,
  transformMcpFeatures,
  transformMcpTools,
} from '../catalog/index.ts';
import type { Catalog, ImportProblem, ServiceCatalog, ServiceConfig, TenantConfig } from '../core/index.ts';
import { fillServiceReferences, toGatehouseError } from '../core/index.ts';
import { listCredentialSecrets, type McpUpstream, type UpstreamCredential } from '../upstream/index.ts';
import { mcpTargetOf, upstreamLimitsOf } from './build-tenants.ts';
import { unlistedMcpCatalog } from './load-service.ts';

/** The listing state of one federated service of a tenant, for `/readyz` and the admin API. */
export interface FederatedServiceStatus {
  readonly tenant: string;
  readonly service: string;
  /** `degraded`: the last listing failed; the tools of the listing before it (or none) are served. */
  readonly state: 'listed' | 'degraded' | 'unlisted';
  readonly tools: number;
  /** Resources, resource templates and prompts listed (each only when the server declares the capability). */
  readonly resources: number;
  readonly prompts: number;
  /**
   * Why the last listing failed (a GatehouseError message: never a credential); also set on a `listed` service whose
   * resources or prompts could not be listed (its tools are served, with its previous resources and prompts).
   */
  readonly problem?: string;
}

export interface Federation {
  /**
   * The current catalogue of an `mcp:` service of a tenant, overlays applied and bound to the service id, with the
   * resources, resource templates and prompts its server lists.
   */
  load(tenant: string, service: ServiceConfig): { catalog: Catalog; bound: ServiceCatalog; features: McpFeatures };
  /** Lists every federated service (in parallel, each within its timeout), then keeps the listings fresh. */
  start(): Promise<void>;
  /** Lists one service again now (a `list_changed` notice of tools, resources or prompts does this). */
  refresh(tenant: string, service: string): Promise<void>;
  /**
   * A tenant created or changed at run time (issue 14): its `mcp:` services new or changed since are listed now
   * (awaited, each within its timeout, as at start; the caller then builds the tenant), the unchanged ones keep
   * their listing, and the ones it no longer has stop being listed.
   */
  putTenant(tenant: TenantConfig): Promise<void>;
  /**
   * Serves a listed service of a tenant without its listing (as before its first one), `degraded` with `problem`:
   * at start, the listing made the tenant's config invalid (a tool name another tool of a toolset has), and a remote
   * server must not keep the gateway from starting. False when the service has no listing to set aside. It is listed
   * again at its next refresh, which is not applied while the problem lasts (as any listing causing one).
   */
  setAside(tenant: string, service: string, problem: string): boolean;
  /** A tenant removed: its services stop being listed. */
  removeTenant(tenantId: string): void;
  status(): readonly FederatedServiceStatus[];
  close(): void;
}

export interface FederationDependencies {
  /** The tenants at start (the config's); later ones come through `putTenant`. */
  readonly tenants: readonly TenantConfig[];
  readonly upstream: Pick<McpUpstream, 'listTools' | 'listFeatures' | 'onListChanged'>;
  /** The credential a listing presents: the service's static one, or its `shared` connection. */
  credentialOf(tenant: string, service: ServiceConfig): Promise<UpstreamCredential>;
  /** A tenant's federated tools, resources or prompts changed: rebuild its runtime. Throws to keep the old one (a config error). */
  onChanged(tenant: string): void;
  /** A listing or rebuild failed (for the log; the message carries no credential). */
  onError?(tenant: string, service: string, error: unknown): void;
  /**
   * A new listing left tools out (an invalid name, a non-object input schema, an oversized schema, a name another
   * tool maps to, past the tool cap): each with why, for the log. Told once per listing that changed.
   */
  onSkipped?(tenant: string, service: string, problems: readonly ImportProblem[]): void;
}

/** A failed listing is tried again after this long (a listing that worked waits the service's `toolsTtlSeconds`). */
const retryMs = 30_000;
const defaultTtlSeconds = 300;
/**
 * A `list_changed` notice lists the service again at once, but at most once this long after the last listing began:
 * notices in between are answered by one listing at its end. A server sending them without pause (its standalone
 * stream allows thousands a second) had the gateway list it, and rebuild its tenant, back to back without end
 * (finding federated_list_changed_storm).
 */
export const listChangedGapMs = 2_000;

interface Entry {
  readonly tenant: string;
  readonly service: ServiceConfig;
  catalog: Catalog;
  features: McpFeatures;
  state: FederatedServiceStatus['state'];
  problem?: string;
  timer?: ReturnType<typeof setTimeout>;
  listing?: Promise<void>;
  /** When the last listing began (`Date.now()`), and the listing a notice within `listChangedGapMs` of it awaits. */
  listedAt?: number;
  noticed?: ReturnType<typeof setTimeout>;
  /** Replaced or removed (issue 14): a listing still running must neither rebuild nor schedule another. */
  dropped?: boolean;
}

/**
 * Remote MCP servers as services (DESIGN.md §11): each `mcp:` service's tools are listed from its server (every
 * page) and become a catalogue like any other, named, filtered and governed by the same toolsets and policy; its
 * resources, resource templates and prompts are listed with them (`McpFeatures`). A listing is repeated after
 * `toolsTtlSeconds` (default 300), at once on a `list_changed` notice of tools, resources or prompts, and
 * after 30 s when it failed; a changed listing rebuilds the tenant's runtime. A server that is down keeps its last
 * tools (none at first) and its status `degraded`; the other services are never held up by it.
 */
export function createFederation(deps: FederationDependencies): Federation {
  const entries = new Map<string, Entry>();
  const keyOf = (tenant: string, service: string) => `${tenant}\u0000${service}`;
  const entryOf = (tenant: string, service: ServiceConfig): Entry => ({
    tenant,
    service,
    catalog: unlistedMcpCatalog(service.mcp as string),
    features: noMcpFeatures,
    state: 'unlisted',
  });
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entry.dropped = true;
    clearTimeout(entry.timer);
    clearTimeout(entry.noticed);
    entries.delete(key);
  };
  for (const tenant of deps.tenants) {
    for (const service of tenant.services) {
      if (service.mcp !== undefined) entries.set(keyOf(tenant.id, service.id), entryOf(tenant.id, service));
    }
  }
  let closed = false;

  deps.upstream.onListChanged((tenant, service) => {
    const entry = entries.get(keyOf(tenant, service));
    if (entry === undefined || entry.noticed !== undefined || closed || entry.dropped) return;
    const wait = entry.listedAt === undefined ? 0 : entry.listedAt + listChangedGapMs - Date.now();
    if (wait <= 0) {
      void list(entry, true);
      return;
    }
    entry.noticed = setTimeout(() => {
      delete entry.noticed;
      if (!closed && !entry.dropped) void list(entry, true);
    }, wait);
    entry.noticed.unref();
  });

  function schedule(entry: Entry, ms: number): void {
    clearTimeout(entry.timer);
    if (closed || entry.dropped) return;
    entry.timer = setTimeout(() => void list(entry, true), ms);
    entry.timer.unref();
  }

  /** Lists one service; `rebuild`: tell the gateway when its tools changed (not at start, which builds once). */
  function list(entry: Entry, rebuild: boolean): Promise<void> {
    // One listing at a time per service; a notice during a listing is answered by that listing.
    entry.listing ??= (async () => {
      entry.listedAt = Date.now();
      const url = entry.service.mcp as string;
      let scrub: (text: string) => string = (text) => text;
      try {
        const credential = await deps.credentialOf(entry.tenant, entry.service);
        // Listed at its `mcp` URL, where its calls go too (an mcp service may not set another `baseUrl`).
        const service = {
          id: entry.service.id,
          baseUrl: url,
          ...upstreamLimitsOf(entry.service),
          headers: fillServiceReferences(entry.service.headers, entry.service.auth),
        };
        const target = mcpTargetOf(entry.tenant, service, credential);
        // What the server lists (and its error text) is shown to every client: scrubbed as its results are.
        scrub = createScrubber(listCredentialSecrets(credential));
        const catalog = transformMcpTools(scrubJson(await deps.upstream.listTools(target), scrub), url);
        // A server whose resource or prompt listing fails keeps serving its tools (and its previous listing).
        let featuresProblem: string | undefined;
        const features = await deps.upstream.listFeatures(target).then(
          (listing) => transformMcpFeatures(scrubJson(listing, scrub), url),
          (error: unknown) => {
            featuresProblem = `resources and prompts: ${scrub(toGatehouseError(error).message)}`;
            deps.onError?.(entry.tenant, entry.service.id, error);
            return entry.features;
          },
        );
        if (entry.dropped) return;
        const changed = catalog.id !== entry.catalog.id || features.id !== entry.features.id;
        if (catalog.id !== entry.catalog.id && catalog.problems.length > 0) {
          deps.onSkipped?.(entry.tenant, entry.service.id, catalog.problems);
        }
        const before = { catalog: entry.catalog, features: entry.features };
        entry.catalog = catalog;
        entry.features = features;
        entry.state = 'listed';
        if (featuresProblem === undefined) delete entry.problem;
        else entry.problem = featuresProblem;
        if (changed && rebuild) {
          try {
            deps.onChanged(entry.tenant);
          } catch (error) {
            // The new listing breaks the config (e.g. an unprefixed name now collides): keep serving the old one.
            entry.catalog = before.catalog;
            entry.features = before.features;
            entry.state = 'degraded';
            entry.problem = toGatehouseError(error).message;
            deps.onError?.(entry.tenant, entry.service.id, error);
          }
        }
        schedule(entry, (entry.service.toolsTtlSeconds ?? defaultTtlSeconds) * 1000);
      } catch (error) {
        if (entry.dropped) return;
        entry.state = 'degraded';
        entry.problem = scrub(toGatehouseError(error).message);
        deps.onError?.(entry.tenant, entry.service.id, error);
        schedule(entry, retryMs);
      }
    })().finally(() => {
      delete entry.listing;
    });
    return entry.listing;
  }

  return {
    load(tenant, service) {
      const entry = entries.get(keyOf(tenant, service.id));
      const plain = entry?.catalog ?? unlistedMcpCatalog(service.mcp as string);
      const catalog = applyOverlays(plain, service.overlays ?? {}, `services.${service.id}.overlays`);
      return { catalog, bound: bindCatalog(catalog, service.id), features: entry?.features ?? noMcpFeatures };
    },
    async start() {
      await Promise.all([...entries.values()].map((entry) => list(entry, false)));
    },
    async refresh(tenant, service) {
      const entry = entries.get(keyOf(tenant, service));
      if (entry !== undefined) await list(entry, true);
    },
    async putTenant(tenant) {
      const listed: Entry[] = [];
      const kept = new Set<string>();
      for (const service of tenant.services) {
        if (service.mcp === undefined) continue;
        const key = keyOf(tenant.id, service.id);
        kept.add(key);
        if (isDeepStrictEqual(entries.get(key)?.service, service)) continue;
        drop(key);
        const entry = entryOf(tenant.id, service);
        entries.set(key, entry);
        listed.push(entry);
      }
      for (const [key, entry] of [...entries]) if (entry.tenant === tenant.id && !kept.has(key)) drop(key);
      await Promise.all(listed.map((entry) => list(entry, false)));
    },
    setAside(tenant, service, problem) {
      const entry = entries.get(keyOf(tenant, service));
      if (entry === undefined || entry.state !== 'listed') return false;
      entry.catalog = unlistedMcpCatalog(entry.service.mcp as string);
      entry.features = noMcpFeatures;
      entry.state = 'degraded';
      entry.problem = problem;
      return true;
    },
    removeTenant(tenantId) {
      for (const [key, entry] of [...entries]) if (entry.tenant === tenantId) drop(key);
    },
    status() {
      return [...entries.values()].map((entry) => ({
        tenant: entry.tenant,
        service: entry.service.id,
        state: entry.state,
        tools: entry.catalog.tools.length,
        resources: entry.features.resources.length + entry.features.resourceTemplates.length,
        prompts: entry.features.prompts.length,
        ...(entry.problem === undefined ? {} : { problem: entry.problem }),
      }));
    },
    close() {
      closed = true;
      for (const entry of entries.values()) {
        clearTimeout(entry.timer);
        clearTimeout(entry.noticed);
      }
    },
  };
}
