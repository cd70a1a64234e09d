import type { z } from 'zod';
import { editDistance } from './edit-distance.ts';

type AnySchema = z.core.$ZodType;

/**
 * The field names a strict object schema accepts at `path` (a config path such as `tenants[0].services[1].auth`),
 * looking through optional, default, nullable, pipe, array and union wrappers. A union contributes the fields of
 * every option (the `auth` variants share one list of names). Empty when the path leads nowhere known.
 */
export function knownFieldsAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  let current: AnySchema[] = [schema];
  for (const part of path) {
    current = current.flatMap(unwrap).flatMap((node) => childrenOf(node, part));
  }
  return [...new Set(current.flatMap(unwrap).flatMap((node) => Object.keys(shapeOf(node) ?? {})))];
}

/** The known name closest to `unknown`: same letters in another case, or at most 2 edits away (1 for short names). */
export function suggestFieldName(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  const sameCase = known.find((name) => name.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const allowed = unknown.length <= 4 ? 1 : 2;
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

function unwrap(node: AnySchema): AnySchema[] {
  const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
      return unwrap(def['innerType'] as AnySchema);
    case 'pipe':
      return unwrap(def['in'] as AnySchema);
    case 'union':
      return (def['options'] as AnySchema[]).flatMap(unwrap);
    default:
      return [node];
  }
}

function childrenOf(node: AnySchema, part: PropertyKey): AnySchema[] {
  const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
  if (def.type === 'array') return typeof part === 'number' ? [def['element'] as AnySchema] : [];
  if (def.type === 'record') return [def['valueType'] as AnySchema];
  const child = shapeOf(node)?.[String(part)];
  return child === undefined ? [] : [child];
}

function shapeOf(node: AnySchema): Record<string, AnySchema> | undefined {
  const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
  return def.type === 'object' ? (def['shape'] as Record<string, AnySchema>) : undefined;
}
