import { builtInCatalogRoot, loadCatalog, loadProviders, type Provider, packPath } from '../catalog/index.ts';
import { GatehouseError, suggestFieldName } from '../core/index.ts';
import { previewTools } from './service-descriptions.ts';

/** One tool of a provider's curated pack, as `gatehouse providers show` lists it. */
export interface ProviderPackTool {
  readonly name: string;
  readonly safety: string;
  readonly scopes: readonly (readonly string[])[];
}

/** A provider's curated tool pack: its tools and what their `tools/list` costs (o200k tokens). */
export interface ProviderPack {
  readonly id: string;
  readonly tools: readonly ProviderPackTool[];
  readonly tokens: number;
}

/** What `gatehouse providers list/show` and docs/catalogue.md say about one provider. */
export interface ProviderSummary {
  readonly provider: Provider;
  /** Null when the provider names no pack (its tools come from a description the operator downloads). */
  readonly pack: ProviderPack | null;
}

/** Every provider of the catalogue at `root` (default: built in), sorted by id, with its pack measured. */
export function describeProviders(root: string = builtInCatalogRoot): ProviderSummary[] {
  return loadProviders(root).providers.map((provider) => ({ provider, pack: packOf(root, provider) }));
}

/**
 * One provider by id. Throws `invalid_request` naming the unknown id with a did-you-mean (the CLI exits 2).
 */
export function describeProvider(id: string, root: string = builtInCatalogRoot): ProviderSummary {
  const catalogue = loadProviders(root);
  const provider = catalogue.byId.get(id);
  if (provider === undefined) {
    const suggestion = suggestFieldName(id, [...catalogue.byId.keys()]);
    throw new GatehouseError(
      'invalid_request',
      `unknown provider '${id}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; see gatehouse providers list`,
      { provider: id },
    );
  }
  return { provider, pack: packOf(root, provider) };
}

const packs = new Map<string, ProviderPack>();

function packOf(root: string, provider: Provider): ProviderPack | null {
  const id = provider.description?.pack;
  if (id === undefined) return null;
  const path = packPath(root, id);
  const known = packs.get(`${path}\u0000${provider.id}`);
  if (known !== undefined) return known;
  const catalog = loadCatalog(path);
  const { tools, tokens } = previewTools(catalog, provider.id);
  const pack: ProviderPack = {
    id,
    tools: tools.map((tool) => ({ name: tool.name, safety: tool.safety, scopes: tool.scopes })),
    tokens,
  };
  packs.set(`${path}\u0000${provider.id}`, pack);
  return pack;
}
