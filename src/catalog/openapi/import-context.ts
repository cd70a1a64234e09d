import type { JsonSchema } from '../../core/index.ts';

/** Which specification a description follows; decides how schemas and parameters are read. */
export type Dialect = '2.0' | '3.0' | '3.1';

/** One shared component schema, converted once per catalogue, with the components it references. */
export interface ConvertedDef {
  readonly name: string;
  readonly schema: JsonSchema | boolean;
  readonly refs: ReadonlySet<string>;
}

/**
 * State shared by every transform of one import: the parsed document (never copied or mutated) and the memo of
 * converted component schemas, so each component is converted at most once per catalogue.
 */
export interface ImportContext {
  readonly root: Record<string, unknown>;
  readonly dialect: Dialect;
  /** JSON pointer (`#/components/schemas/Pet`) -> converted definition. */
  readonly defs: Map<string, ConvertedDef>;
  /** JSON pointer -> `$defs` name, unique within the catalogue. */
  readonly defNames: Map<string, string>;
  readonly usedDefNames: Set<string>;
  /** Security scheme name -> whether it carries OAuth scopes (oauth2 / openIdConnect). */
  readonly scopedSchemes: ReadonlySet<string>;
  /**
   * Whether an operation's `x-gatehouse-safety: safe` may lower its class below its method's: true only for the
   * curated packs shipped in `catalog/packs/` (ours, reviewed), never for a description a config or tenant names.
   */
  readonly trustSafetyMarks: boolean;
}

/** Thrown inside a transform when an operation cannot become a tool; caught per operation into a problem. */
export class ImportIssue extends Error {
  override readonly name = 'ImportIssue';
}

export function createImportContext(
  root: Record<string, unknown>,
  dialect: Dialect,
  trustSafetyMarks = false,
): ImportContext {
  const schemes = (
    dialect === '2.0' ? root['securityDefinitions'] : asRecord(root['components'])?.['securitySchemes']
  ) as unknown;
  const scopedSchemes = new Set<string>();
  for (const [name, scheme] of Object.entries(asRecord(schemes) ?? {})) {
    const type = asRecord(scheme)?.['type'];
    if (type === 'oauth2' || type === 'openIdConnect') scopedSchemes.add(name);
  }
  return {
    root,
    dialect,
    defs: new Map(),
    defNames: new Map(),
    usedDefNames: new Set(),
    scopedSchemes,
    trustSafetyMarks,
  };
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Resolves a local JSON pointer (`#/a/b~1c`) against the document; undefined when it leads nowhere. */
export function resolvePointer(ctx: ImportContext, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  if (ref === '#') return ctx.root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = ctx.root;
  for (const raw of ref.slice(2).split('/')) {
    const segment = decodePointerSegment(raw);
    if (Array.isArray(node)) node = node[Number(segment)];
    else {
      const record = asRecord(node);
      if (record === undefined || !Object.hasOwn(record, segment)) return undefined;
      node = record[segment];
    }
  }
  return node;
}

function decodePointerSegment(raw: string): string {
  let segment = raw;
  if (segment.includes('%')) {
    try {
      segment = decodeURIComponent(segment);
    } catch {
      // a literal '%' that is not an escape stays as it is
    }
  }
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * Follows `$ref` chains of a non-schema object (parameter, request body, response, path item) to the object
 * itself. Throws an ImportIssue naming the reference when it cannot be resolved or loops.
 */
export function resolveObject(ctx: ImportContext, value: unknown): Record<string, unknown> {
  let node = value;
  for (let hops = 0; hops < 16; hops++) {
    const record = asRecord(node);
    if (record === undefined) throw new ImportIssue('expected an object');
    const ref = record['$ref'];
    if (typeof ref !== 'string') return record;
    node = resolvePointer(ctx, ref);
    if (node === undefined) throw new ImportIssue(`unresolvable $ref ${ref}`);
  }
  throw new ImportIssue('$ref chain too long or circular');
}
