import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/** Folder of the curated tool packs (`catalog/packs/<provider>.openapi.yaml`). */
export const packsDir = resolve(import.meta.dirname, '..', '..', 'catalog', 'packs');

/** One operation of a pack, read straight from its YAML (examples and all, which the importer drops). */
export interface PackOperation {
  readonly method: string;
  readonly path: string;
  readonly operationId: string;
  readonly raw: Record<string, unknown>;
  /** Parameters with `$ref`s resolved, path item parameters first. */
  readonly parameters: readonly Record<string, unknown>[];
}

export interface Pack {
  readonly id: string;
  readonly file: string;
  readonly doc: Record<string, unknown>;
  readonly operations: readonly PackOperation[];
}

const methods = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Ids of every pack in `catalog/packs`, sorted. */
export function listPackIds(): string[] {
  return readdirSync(packsDir)
    .filter((name) => name.endsWith('.openapi.yaml'))
    .map((name) => name.slice(0, -'.openapi.yaml'.length))
    .sort();
}

export function readPack(id: string): Pack {
  const file = resolve(packsDir, `${id}.openapi.yaml`);
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const operations: PackOperation[] = [];
  for (const [path, item] of Object.entries((doc['paths'] ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const method of methods) {
      const raw = item[method] as Record<string, unknown> | undefined;
      if (raw === undefined) continue;
      const parameters = [
        ...((item['parameters'] ?? []) as unknown[]),
        ...((raw['parameters'] ?? []) as unknown[]),
      ].map((p) => resolveRef(doc, p) as Record<string, unknown>);
      operations.push({ method: method.toUpperCase(), path, operationId: String(raw['operationId']), raw, parameters });
    }
  }
  return { id, file, doc, operations };
}

/** Follows a local `$ref` (`#/components/...`) to its target; other values are returned as they are. */
export function resolveRef(doc: Record<string, unknown>, value: unknown): unknown {
  let node = value;
  for (let hops = 0; hops < 16; hops++) {
    const ref = (node as { $ref?: unknown } | null)?.$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
    node = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key.replaceAll('~1', '/')], doc);
  }
  throw new Error('circular $ref');
}

/** The JSON schema of an operation's request body and its media type, if it has one. */
export function requestBodyOf(
  doc: Record<string, unknown>,
  operation: PackOperation,
): { mediaType: string; schema: unknown; required: boolean } | undefined {
  const body = resolveRef(doc, operation.raw['requestBody']) as Record<string, unknown> | undefined;
  if (body === undefined) return undefined;
  const [mediaType, media] = Object.entries((body['content'] ?? {}) as Record<string, { schema?: unknown }>)[0] ?? [];
  if (mediaType === undefined) return undefined;
  return { mediaType, schema: media?.schema ?? {}, required: body['required'] === true };
}

/** The JSON schema of an operation's first 2xx response, and its status. */
export function successResponseOf(
  doc: Record<string, unknown>,
  operation: PackOperation,
): { status: number; schema: unknown } {
  const responses = (operation.raw['responses'] ?? {}) as Record<string, unknown>;
  const code = Object.keys(responses)
    .filter((status) => /^2\d\d$/.test(status))
    .sort()[0];
  if (code === undefined) return { status: 200, schema: undefined };
  const response = resolveRef(doc, responses[code]) as { content?: Record<string, { schema?: unknown }> };
  const media = Object.values(response.content ?? {})[0];
  return { status: Number(code), schema: media?.schema };
}
