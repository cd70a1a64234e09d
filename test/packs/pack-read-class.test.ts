import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  builtInCatalogRoot,
  createProviderExpander,
  loadCatalog,
  loadCatalogText,
  loadProviders,
  packPath,
} from '../../src/catalog/index.ts';
import { parseConfig } from '../../src/core/index.ts';
import { inspectConfig, inspectReadOnlyLinkScopes, inspectSafeWrites } from '../../src/gateway/index.ts';

// Issue 11, pack_read_posts: operations that only read but are POSTs by the provider's design (Google Calendar's
// freeBusy, Notion's search) were classed write, because a description can never lower a tool's class. The curated
// packs are ours (reviewed, shipped in the repository), so their `x-gatehouse-safety: safe` is trusted; any other
// description's, and a tenant's overlay without an explicit `safety: safe`, still lowers nothing.
const readPosts: [pack: string, operation: string][] = [
  ['google-calendar', 'find_free_busy'],
  ['notion', 'search'],
  ['notion', 'query_database'],
  ['hubspot', 'search_contacts'],
  ['hubspot', 'search_companies'],
  ['hubspot', 'search_deals'],
  ['intercom', 'search_contacts'],
  ['intercom', 'search_conversations'],
  ['dropbox', 'list_folder'],
  ['dropbox', 'list_folder_continue'],
  ['dropbox', 'search'],
  ['dropbox', 'get_metadata'],
  ['dropbox', 'get_download_link'],
  ['dropbox', 'list_shared_links'],
  ['dropbox', 'get_space_usage'],
];

const toolOf = (pack: string, operation: string) =>
  loadCatalog(packPath(builtInCatalogRoot, pack)).tools.find((t) => t.operation === operation);

const expandProvider = createProviderExpander();

function calendarConfig(overlays?: Record<string, unknown>) {
  return readConfig('google-calendar', overlays);
}

function readConfig(provider: string, overlays?: Record<string, unknown>) {
  return parseConfig(
    {
      tenants: [
        {
          id: 't',
          services: [
            {
              provider,
              ...(loadProviders().byId.get(provider)?.auth.type === 'oauth2'
                ? { clientId: 'client', clientSecret: 'client-secret-value' }
                : { token: 'token-value-0123456789' }),
              ...(overlays === undefined ? {} : { overlays }),
            },
          ],
          toolsets: [{ id: 'reader', tools: ['*'], access: 'read' }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd(), expandProvider },
  );
}

describe('pack_read_posts: a curated pack may class a POST that only reads as a read', () => {
  it.each(readPosts)('%s %s is a POST classed safe, readOnlyHint true', (pack, operation) => {
    const tool = toolOf(pack, operation);
    expect(tool?.request.method).toBe('POST');
    expect(tool?.safety).toBe('safe');
    expect(tool?.annotations.readOnlyHint).toBe(true);
  });

  it('google-calendar find_free_busy is listed in an access: read toolset, and check warns about nothing', () => {
    const config = calendarConfig();
    const tools = inspectConfig(config)[0]?.tools.map((t) => t.name);
    expect(tools).toContain('google-calendar_find_free_busy');
    expect(tools).not.toContain('google-calendar_create_event');
    expect(inspectSafeWrites(config)).toEqual([]);
  });

  it.each([...new Set(readPosts.map(([pack]) => pack))])(
    "%s: an access: read toolset lists its read POSTs and its link asks only the provider's read scopes",
    (pack) => {
      const config = readConfig(pack);
      const listed = inspectConfig(config)[0]?.tools.map((t) => t.name) ?? [];
      for (const [p, operation] of readPosts) if (p === pack) expect(listed).toContain(`${pack}_${operation}`);
      const provider = loadProviders().byId.get(pack);
      const writeScopes = new Set(
        provider?.auth.type === 'oauth2'
          ? provider.auth.scopes.filter((s) => s.access === 'write').map((s) => s.name)
          : [],
      );
      const asked = inspectReadOnlyLinkScopes(config).flatMap((link) => link.scopes);
      expect(asked.filter((scope) => writeScopes.has(scope))).toEqual([]);
    },
  );

  it('the same text anywhere else is not trusted: a copy of the pack, or a stored description, keeps POSTs write', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'gatehouse-pack-copy-')), 'google-calendar.openapi.yaml');
    copyFileSync(packPath(builtInCatalogRoot, 'google-calendar'), copy);
    const fromCopy = loadCatalog(copy).tools.find((t) => t.operation === 'find_free_busy');
    expect(fromCopy?.safety).toBe('write');
    expect(fromCopy?.annotations.readOnlyHint).toBe(false);
    const text = readFileSync(copy, 'utf8');
    const stored = loadCatalogText('stored-calendar', text, 'service calendar').tools.find(
      (t) => t.operation === 'find_free_busy',
    );
    expect(stored?.safety).toBe('write');
  });

  it("a tenant's overlay lowers a pack write only with the documented `safety: safe`, and check says so", () => {
    const renamed = calendarConfig({ create_event: { name: 'add_event', description: 'Reads only. Safe.' } });
    expect(inspectConfig(renamed)[0]?.tools.map((t) => t.name)).not.toContain('google-calendar_add_event');
    const marked = calendarConfig({ create_event: { safety: 'safe' } });
    expect(inspectConfig(marked)[0]?.tools.map((t) => t.name)).toContain('google-calendar_create_event');
    expect(inspectSafeWrites(marked).map((w) => w.path)).toEqual([
      'tenants[0].services[0].overlays.create_event.safety',
    ]);
  });
});
