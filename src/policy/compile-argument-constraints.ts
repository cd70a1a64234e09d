import type { JsonSchema } from '../core/index.ts';

/** JSON Schema keywords a toolset may add to one argument (see config `toolsets[].constraints`). */
export interface ArgumentConstraint {
  readonly const?: string | number | boolean | null;
  readonly enum?: readonly (string | number | boolean | null)[];
  readonly maximum?: number;
  readonly minimum?: number;
  readonly pattern?: string;
  readonly maxItems?: number;
  readonly maxLength?: number;
}

/**
 * A compiled constraint set of one tool in one toolset: a JSON Schema that the arguments must satisfy in
 * addition to the tool's input schema, and a key identifying it (equal sets share one compiled validator).
 */
export interface ArgumentConstraints {
  readonly key: string;
  readonly schema: JsonSchema;
}

/**
 * Turns `{ "body.amount": { maximum: 100 }, "items[].id": { pattern: "^[0-9]+$" } }` into one JSON Schema.
 * A path is argument names separated by `.`; `[]` after a name applies to every item of that array. A pinned
 * value (`const`) also makes its argument (and the objects leading to it) required, so leaving it out cannot
 * fall back to an upstream default. Returns undefined for an empty set.
 */
export function compileArgumentConstraints(
  constraints: Readonly<Record<string, ArgumentConstraint>>,
): ArgumentConstraints | undefined {
  const paths = Object.keys(constraints).sort();
  if (paths.length === 0) return undefined;
  const root: MutableSchema = {};
  for (const path of paths) {
    const constraint = constraints[path] as ArgumentConstraint;
    let node = root;
    const required = constraint.const !== undefined;
    for (const segment of parsePath(path)) {
      if (segment === '[]') {
        node.items ??= {};
        node = node.items;
        continue;
      }
      node.properties ??= {};
      node.properties[segment] ??= {};
      if (required) {
        node.required ??= [];
        if (!node.required.includes(segment)) node.required.push(segment);
      }
      node = node.properties[segment];
    }
    const keywords: MutableSchema = { ...constraint } as MutableSchema;
    node.allOf = [...(node.allOf ?? []), keywords];
  }
  return { key: JSON.stringify(root), schema: root };
}

type MutableSchema = {
  properties?: Record<string, MutableSchema>;
  items?: MutableSchema;
  required?: string[];
  allOf?: MutableSchema[];
  [keyword: string]: unknown;
};

function parsePath(path: string): string[] {
  const segments: string[] = [];
  for (const part of path.split('.')) {
    let name = part;
    let arrays = 0;
    while (name.endsWith('[]')) {
      name = name.slice(0, -2);
      arrays++;
    }
    if (name !== '') segments.push(name);
    for (let i = 0; i < arrays; i++) segments.push('[]');
  }
  return segments;
}
