import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bindCatalog, loadCatalog, toToolName } from '../../src/catalog/index.ts';
import type { ServiceCatalog } from '../../src/core/index.ts';

/**
 * The nine API descriptions of ../shared/specs that the issue-15 query sets are written over, with the service id
 * each is bound under (tool names are `{service}_{operation}`, see src/catalog/tool-name.ts).
 */
export const apiFiles = {
  github: 'github.api.github.com.json',
  stripe: 'stripe.spec3.2023-09-12.yaml',
  slack: 'slack.web_openapi_v2.json',
  discord: 'discord.openapi.json',
  twilio: 'twilio.api_v2010.json',
  box: 'box.openapi.json',
  spotify: 'spotify.fixed-open-api.yml',
  calendar: 'google.calendar.discovery.json',
  gmail: 'google.gmail.discovery.json',
} as const;

export type ApiId = keyof typeof apiFiles;
export const apiIds = Object.keys(apiFiles) as ApiId[];

/** `../shared/specs` beside the repository, or `GATEHOUSE_SPECS_DIR` (a git worktree elsewhere has no `../shared`). */
export const specsDir =
  process.env.GATEHOUSE_SPECS_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'specs');

/** Whether every description is present (a fresh clone has no ../shared). */
export function specsPresent(dir = specsDir): boolean {
  return apiIds.every((api) => existsSync(resolve(dir, apiFiles[api])));
}

export type LoadedApi =
  | { readonly api: ApiId; readonly catalog: ServiceCatalog; readonly loadMs: number }
  | { readonly api: ApiId; readonly skipped: string };

/** The bound catalogue of one API, or why the catalogue cannot import it (a description format it does not know). */
export function loadApi(api: ApiId, dir = specsDir): LoadedApi {
  const t0 = performance.now();
  try {
    const catalog = bindCatalog(loadCatalog(resolve(dir, apiFiles[api])), api);
    return { api, catalog, loadMs: performance.now() - t0 };
  } catch (error) {
    // Only a format the catalogue does not import yet is skipped; a broken or missing file is an error.
    const { code, details } = error as { code?: unknown; details?: { format?: unknown } };
    if (code !== 'description_invalid' || typeof details?.format !== 'string') throw error;
    return { api, skipped: (error as Error).message };
  }
}

/**
 * Tool name -> operation summary for one API: the catalogue's tool titles; for a Google Discovery document the
 * catalogue cannot import yet (issue 12), the method id as the operation (`{service}_{method id}`, the same
 * naming as any other description) and the first sentence of the method's description as its summary.
 */
export function operationSummaries(loaded: LoadedApi, dir = specsDir): Map<string, string> {
  if ('catalog' in loaded) return new Map(loaded.catalog.tools.map((named) => [named.name, named.tool.title]));
  const document = JSON.parse(readFileSync(resolve(dir, apiFiles[loaded.api]), 'utf8')) as DiscoveryResource;
  const out = new Map<string, string>();
  const walk = (resource: DiscoveryResource): void => {
    for (const method of Object.values(resource.methods ?? {}))
      out.set(toToolName(loaded.api, method.id), firstSentence(method.description ?? ''));
    for (const child of Object.values(resource.resources ?? {})) walk(child);
  };
  walk(document);
  return out;
}

interface DiscoveryResource {
  readonly methods?: Record<string, { readonly id: string; readonly description?: string }>;
  readonly resources?: Record<string, DiscoveryResource>;
}

function firstSentence(text: string): string {
  const match = /^(.*?\.)(\s+[A-Z]|$)/s.exec(text.trim());
  return (match ? match[1]! : text).replace(/\s+/g, ' ').trim();
}
