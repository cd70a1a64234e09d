import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { bindCatalog, loadCatalog } from '../../src/catalog/index.ts';
import type { ServiceCatalog } from '../../src/core/index.ts';
import { sharedSpecsDir } from '../../test/support/shared-specs-dir.ts';

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

/** `../shared/specs` beside the repository, or `GATEHOUSE_SPECS_DIR`. */
export const specsDir = sharedSpecsDir;

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

/** Tool name -> operation summary (the catalogue's tool title) for one API; an API that did not import throws. */
export function operationSummaries(loaded: LoadedApi): Map<string, string> {
  if (!('catalog' in loaded)) throw new Error(`${loaded.api}: ${loaded.skipped}`);
  return new Map(loaded.catalog.tools.map((named) => [named.name, named.tool.title]));
}
