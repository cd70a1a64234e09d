import { createHash } from 'node:crypto';
import type { GuardedFetch } from '../auth-server/index.ts';
import { bindCatalog, importDescription, previewCatalog } from '../catalog/index.ts';
import {
  type Catalog,
  type Clock,
  type DescriptionFormat,
  GatehouseError,
  isGatehouseError,
  type ServiceConfig,
} from '../core/index.ts';
import { countTokens } from '../shaping/index.ts';
import type { Store } from '../store/index.ts';

/** A stored tenant document names an uploaded description as `stored:<sha256 hex>` in its description field. */
const storedPrefix = 'stored:';
const storedReference = /^stored:([0-9a-f]{64})$/;

/** The service field that names a description of each imported format. */
export const descriptionFieldOf = {
  openapi: 'openapi',
  swagger: 'swagger',
  discovery: 'googleDiscovery',
  graphql: 'graphql',
  wsdl: 'wsdl',
} as const satisfies Partial<Record<DescriptionFormat, keyof ServiceConfig>>;

export type UploadFormat = keyof typeof descriptionFieldOf;
export const uploadFormats = Object.keys(descriptionFieldOf) as UploadFormat[];

/** The digest a description field refers to, when it names a stored description. */
export function storedDigestOf(path: string | undefined): string | undefined {
  return path === undefined ? undefined : storedReference.exec(path)?.[1];
}

/** `stored:<digest>`: how a tenant document refers to a stored description. */
export function storedReferenceOf(digest: string): string {
  return `${storedPrefix}${digest}`;
}

/** One tool a description becomes, as the console and `POST .../services/preview` show it. */
export interface PreviewTool {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly safety: string;
  /** `read` for safe tools, `write` for the rest (what `access: read` keeps or drops). */
  readonly access: 'read' | 'write';
  readonly scopes: readonly (readonly string[])[];
  readonly description: string;
  /** o200k tokens of this tool's `tools/list` entry. */
  readonly tokens: number;
}

export interface DescriptionPreview {
  readonly title: string;
  readonly format: UploadFormat;
  readonly baseUrl: string | null;
  readonly tools: readonly PreviewTool[];
  /** o200k tokens of the whole list of these tools, as `tools/list` carries it. */
  readonly tokens: number;
  /** Operations that could not be imported, and why. */
  readonly warnings: readonly { readonly at: string; readonly reason: string }[];
}

/** The tools of a catalogue bound to `service`, each with the token size of its `tools/list` entry. */
export function previewTools(catalog: Catalog, service: string): { tools: PreviewTool[]; tokens: number } {
  const bound = bindCatalog(catalog, service);
  const listed = bound.tools.map(({ name, tool }) => ({
    name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: tool.annotations,
  }));
  const sizes = new Map(listed.map((entry) => [entry.name, countTokens(JSON.stringify(entry))]));
  const tools = previewCatalog(catalog, service).map((row) => ({
    ...row,
    access: row.safety === 'safe' ? ('read' as const) : ('write' as const),
    tokens: sizes.get(row.name) ?? 0,
  }));
  // The list as the tools array (what a provider pack's cost has always been measured on).
  return { tools, tokens: countTokens(JSON.stringify(listed)) };
}

export interface ServiceDescriptionsOptions {
  readonly store: Pick<Store, 'serviceDescriptions'>;
  readonly clock: Clock;
  /** The SSRF-guarded fetch (no private addresses unless `unsafeAllowPrivateUpstreams` names the host). */
  readonly fetch: GuardedFetch;
  /** Largest description fetched from a URL, bytes (default 25 MiB: GitHub's is 13 MB). */
  readonly maxBytes?: number;
  /** Time a URL fetch may take in all, ms (default 30 s). */
  readonly fetchTimeoutMs?: number;
}

/**
 * Descriptions added through the admin API (issue 14): previewed before saving, fetched from a URL through the
 * SSRF guard, stored per tenant by content (`stored:<sha256>` in the document), and held in memory by every
 * process that serves them, since a tenant's runtime is built synchronously.
 */
export interface ServiceDescriptions {
  /** Imports `text` (format detected; `format` refuses another) and lists the tools it becomes under `service`. */
  preview(input: { readonly text: string; readonly service: string; readonly format?: UploadFormat }): {
    readonly preview: DescriptionPreview;
    readonly catalog: Catalog;
  };
  /** Fetches a description from `url` (http or https) through the SSRF guard, capped in size and time. */
  fetchText(url: string, field?: string): Promise<string>;
  /** Stores `text` for the tenant; returns the reference the service's description field takes. */
  save(tenantId: string, text: string, source: string, actor: string): Promise<string>;
  /** The text of a tenant's stored description already loaded here (the synchronous tenant build reads it). */
  textOf(tenantId: string, digest: string): string | undefined;
  /** Loads into this process every stored description the tenant's services name and it lacks. */
  loadFor(tenantId: string, services: readonly Record<string, unknown>[]): Promise<void>;
}

export function createServiceDescriptions(options: ServiceDescriptionsOptions): ServiceDescriptions {
  // By tenant and digest: a tenant's document can name only descriptions stored for that tenant.
  const texts = new Map<string, string>();
  const maxBytes = options.maxBytes ?? 25 * 1024 * 1024;
  const timeoutMs = options.fetchTimeoutMs ?? 30_000;

  return {
    preview({ text, service, format }) {
      const catalog = importDescription({
        text,
        source: '(uploaded)',
        ...(format === undefined || format === 'swagger' ? {} : { format }),
      });
      const { tools, tokens } = previewTools(catalog, service);
      const detected = (catalog.format ?? 'openapi') as UploadFormat;
      return {
        catalog,
        preview: {
          title: catalog.title,
          format: detected,
          baseUrl: catalog.baseUrl ?? null,
          tools,
          tokens,
          warnings: catalog.problems.map((p) => ({ at: p.at, reason: p.reason })),
        },
      };
    },

    async fetchText(url, field = 'url') {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new GatehouseError('resource_invalid', `${field}: not a URL`, { field });
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
        throw new GatehouseError('resource_invalid', `${field}: expected an http or https URL`, { field });
      }
      const fetchFailed = (why: string) =>
        new GatehouseError('resource_invalid', `${field}: the description could not be fetched (${why})`, { field });
      const signal = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await options.fetch(parsed.href, { signal, headers: { accept: '*/*' } });
      } catch (error) {
        if (signal.aborted) throw fetchFailed(`no answer within ${timeoutMs / 1000} s`);
        // The SSRF guard refuses private and loopback addresses with a GatehouseError naming the reason.
        throw fetchFailed(isGatehouseError(error) ? error.message : 'connection failed');
      }
      if (response.status >= 300 && response.status < 400) {
        throw fetchFailed(`it answered ${response.status}, a redirect; give the final URL`);
      }
      if (!response.ok) throw fetchFailed(`it answered ${response.status}`);
      const declared = Number(response.headers.get('content-length'));
      if (declared > maxBytes) throw fetchFailed(`larger than ${maxBytes} bytes`);
      const chunks: Uint8Array[] = [];
      let size = 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          size += chunk.length;
          if (size > maxBytes) throw fetchFailed(`larger than ${maxBytes} bytes`);
          chunks.push(chunk);
        }
      } catch (error) {
        if (isGatehouseError(error)) throw error;
        throw fetchFailed(signal.aborted ? `no answer within ${timeoutMs / 1000} s` : 'the answer broke off');
      }
      return Buffer.concat(chunks).toString('utf8');
    },

    async save(tenantId, text, source, actor) {
      const digest = createHash('sha256').update(text).digest('hex');
      await options.store.serviceDescriptions.put(tenantId, {
        digest,
        text,
        source,
        at: options.clock.now(),
        actor,
      });
      texts.set(`${tenantId}/${digest}`, text);
      return storedReferenceOf(digest);
    },

    textOf: (tenantId, digest) => texts.get(`${tenantId}/${digest}`),

    async loadFor(tenantId, services) {
      for (const service of services) {
        for (const field of Object.values(descriptionFieldOf)) {
          const digest = storedDigestOf(service[field] as string | undefined);
          if (digest === undefined || texts.has(`${tenantId}/${digest}`)) continue;
          const stored = await options.store.serviceDescriptions.get(tenantId, digest);
          if (stored !== undefined) texts.set(`${tenantId}/${digest}`, stored.text);
        }
      }
    },
  };
}
