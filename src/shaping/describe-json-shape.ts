/** An array worth paging: where it is (JMESPath) and how many items it has. */
export interface ArrayLocation {
  readonly path: string;
  readonly count: number;
}

export interface JsonShape {
  /** TypeScript-like type of the value, arrays with their lengths: `{ items: Array(1000)<{ id: number }> }`. */
  readonly shape: string;
  /** The largest arrays (up to five), biggest first, with JMESPath paths usable by the page tool. */
  readonly arrays: readonly ArrayLocation[];
}

export interface ShapeOptions {
  /** Nesting levels written out; deeper values become `{…}` / `Array(n)`. */
  readonly depth: number;
  /** Keys written per object; the rest are counted. */
  readonly keys: number;
}

/** Items of an array inspected to merge their shapes (so the work is bounded for a million items). */
const sampledItems = 20;
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Describes a JSON value's structure for a model: types, array lengths, keys (optional ones marked `?`, when
 * absent from some sampled items), unions (`string | null`). The work is bounded by `depth`, `keys` and a sample
 * of 20 items per array, whatever the size of the value.
 */
export function describeJsonShape(value: unknown, options: ShapeOptions): JsonShape {
  const arrays: ArrayLocation[] = [];
  findArrays(value, '', 0, arrays);
  arrays.sort((a, b) => b.count - a.count);
  return { shape: render(merge([value], options.depth), options.depth, options.keys, ''), arrays: arrays.slice(0, 5) };
}

/** A merged type over several sampled values. */
interface TypeNode {
  kinds: Set<string>;
  /** Object keys: node and how many sampled objects had it. */
  fields?: Map<string, { node: TypeNode; seen: number }>;
  objects: number;
  items?: TypeNode;
  minLength: number;
  maxLength: number;
}

function merge(values: readonly unknown[], depth: number): TypeNode {
  const node: TypeNode = { kinds: new Set(), objects: 0, minLength: Number.POSITIVE_INFINITY, maxLength: 0 };
  const fieldValues = new Map<string, unknown[]>();
  const itemValues: unknown[] = [];
  for (const value of values) {
    const kind = kindOf(value);
    node.kinds.add(kind);
    if (kind === 'array') {
      const array = value as unknown[];
      node.minLength = Math.min(node.minLength, array.length);
      node.maxLength = Math.max(node.maxLength, array.length);
      for (let i = 0; i < array.length && itemValues.length < sampledItems; i++) itemValues.push(array[i]);
    } else if (kind === 'object') {
      node.objects++;
      for (const key in value as Record<string, unknown>) {
        let list = fieldValues.get(key);
        if (list === undefined) {
          list = [];
          fieldValues.set(key, list);
        }
        list.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  if (depth < 0) return node;
  if (fieldValues.size > 0) {
    node.fields = new Map();
    for (const [key, list] of fieldValues) node.fields.set(key, { node: merge(list, depth - 1), seen: list.length });
  }
  if (itemValues.length > 0) node.items = merge(itemValues, depth - 1);
  return node;
}

function render(node: TypeNode, depth: number, keys: number, indent: string): string {
  const parts: string[] = [];
  for (const kind of node.kinds) {
    if (kind === 'object') parts.push(renderObject(node, depth, keys, indent));
    else if (kind === 'array') {
      const length = node.minLength === node.maxLength ? String(node.maxLength) : `${node.minLength}-${node.maxLength}`;
      if (node.items === undefined) parts.push(`Array(${length})`);
      else if (depth <= 0) parts.push(`Array(${length})<…>`);
      else parts.push(`Array(${length})<${render(node.items, depth - 1, keys, indent)}>`);
    } else parts.push(kind);
  }
  return parts.join(' | ');
}

function renderObject(node: TypeNode, depth: number, keys: number, indent: string): string {
  const fields = node.fields;
  if (fields === undefined || fields.size === 0) return '{}';
  if (depth <= 0) return `{…${fields.size} keys}`;
  const inner = `${indent}  `;
  const lines: string[] = [];
  let shown = 0;
  for (const [key, field] of fields) {
    if (shown === keys) break;
    const optional = field.seen < node.objects ? '?' : '';
    lines.push(`${inner}${quoteKey(key)}${optional}: ${render(field.node, depth - 1, keys, inner)}`);
    shown++;
  }
  if (fields.size > shown) lines.push(`${inner}…${fields.size - shown} more keys`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

function findArrays(value: unknown, path: string, level: number, out: ArrayLocation[]): void {
  if (level > 6) return;
  if (Array.isArray(value)) {
    if (value.length > 1) out.push({ path: path === '' ? '@' : path, count: value.length });
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const key in value as Record<string, unknown>) {
      findArrays((value as Record<string, unknown>)[key], joinPath(path, key), level + 1, out);
    }
  }
}

/** Appends an object key to a JMESPath expression, quoting keys that are not plain identifiers. */
export function joinPath(path: string, key: string): string {
  const part = identifier.test(key) ? key : JSON.stringify(key);
  return path === '' ? part : `${path}.${part}`;
}

function quoteKey(key: string): string {
  return identifier.test(key) ? key : JSON.stringify(key);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
