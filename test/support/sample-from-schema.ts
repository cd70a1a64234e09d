import { resolveRef } from './read-pack.ts';

/**
 * A value that satisfies a JSON Schema as packs write them, for calling a tool or answering as a fake upstream:
 * the schema's first `examples` entry (or `example`, `const`, `default`, first `enum` value) when it has one,
 * else a value built from `type`, `format` and bounds. `allOf` parts are merged, the first `anyOf`/`oneOf`
 * branch is taken. Objects get their required properties (`all: true`: every property). A string with a
 * `pattern` and no example is refused: the pack must give an example a generator cannot guess.
 */
export function sampleFromSchema(
  doc: Record<string, unknown>,
  schema: unknown,
  options: { all?: boolean; at?: string } = {},
  depth = 0,
): unknown {
  const at = options.at ?? '';
  const s = resolveRef(doc, schema) as Record<string, unknown> | undefined;
  if (s === undefined || typeof s !== 'object' || depth > 12) return {};
  const examples = s['examples'];
  if (Array.isArray(examples) && examples.length > 0) return examples[0];
  for (const key of ['example', 'const', 'default'] as const) if (s[key] !== undefined) return s[key];
  if (Array.isArray(s['enum']) && s['enum'].length > 0) return s['enum'][0];
  if (Array.isArray(s['allOf'])) {
    // Object parts are merged (properties and required of every part and of the schema itself).
    const { allOf, ...rest } = s;
    const merged = {
      ...rest,
      properties: { ...(rest['properties'] as object) },
      required: [...((rest['required'] ?? []) as string[])],
    };
    for (const raw of allOf as unknown[]) {
      const part = resolveRef(doc, raw) as Record<string, unknown>;
      Object.assign(merged.properties, part['properties']);
      merged.required.push(...((part['required'] ?? []) as string[]));
    }
    return sampleFromSchema(doc, { type: 'object', ...merged }, options, depth + 1);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(s[key]) && s[key].length > 0) return sampleFromSchema(doc, s[key][0], options, depth + 1);
  }
  const type = Array.isArray(s['type']) ? s['type'].find((t) => t !== 'null') : s['type'];
  switch (type ?? (s['properties'] ? 'object' : undefined)) {
    case 'object': {
      const properties = (s['properties'] ?? {}) as Record<string, unknown>;
      const required = new Set((s['required'] ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(properties)) {
        if (options.all || required.has(name)) {
          out[name] = sampleFromSchema(doc, sub, { ...options, at: `${at}.${name}` }, depth + 1);
        }
      }
      return out;
    }
    case 'array': {
      const count = Math.max(1, Number(s['minItems'] ?? 1));
      return Array.from({ length: count }, () =>
        sampleFromSchema(doc, s['items'] ?? {}, { ...options, at: `${at}[]` }, depth + 1),
      );
    }
    case 'integer':
    case 'number': {
      const minimum = typeof s['minimum'] === 'number' ? s['minimum'] : undefined;
      const maximum = typeof s['maximum'] === 'number' ? s['maximum'] : undefined;
      return minimum ?? (maximum !== undefined ? Math.min(1, maximum) : 1);
    }
    case 'boolean':
      return true;
    case 'string':
      return sampleString(s, at);
    default:
      return {};
  }
}

function sampleString(s: Record<string, unknown>, at: string): string {
  if (typeof s['pattern'] === 'string') throw new Error(`${at}: a string with a pattern needs an example`);
  const byFormat: Record<string, string> = {
    'date-time': '2026-01-15T09:30:00Z',
    date: '2026-01-15',
    email: 'ada@example.com',
    uri: 'https://example.com/a',
    url: 'https://example.com/a',
    uuid: '3f1e2d4c-5b6a-4789-8abc-def012345678',
  };
  const text = byFormat[String(s['format'])] ?? 'sample';
  const minLength = Number(s['minLength'] ?? 0);
  return text.length >= minLength ? text : text.padEnd(minLength, 'x');
}
