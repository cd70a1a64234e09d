/**
 * Architecture check (DESIGN.md §3), run by `npm run check`:
 * - imports point inward: a module may import only modules of a lower rank, or peers of its own rank;
 * - another module is imported only through its `index.ts` (its public surface);
 * - concrete store adapters are value-imported only by main.ts (domain modules use the port, type-only);
 * - no import cycles between modules or between files;
 * - no `export *` in an index.
 * Tests are exempt from the rank rules (they build the graph themselves) but not from cycles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');

const rank: Record<string, number> = {
  core: 0,
  store: 1,
  vault: 2,
  catalog: 2,
  audit: 2,
  shaping: 2,
  policy: 2,
  upstream: 2,
  oauth: 2,
  'auth-server': 2.5,
  users: 2,
  gateway: 3,
  mcp: 4,
  ui: 4,
  http: 5,
  // The composition root: the gateway and its HTTP app over opened adapters, with observability.
  wiring: 5.5,
  cli: 6,
  demo: 4,
  '(main)': 7,
};

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function moduleOf(file: string): string {
  const rel = relative(root, file).split('/');
  return rel.length === 1 ? '(main)' : (rel[0] as string);
}

const importPattern =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

const problems: string[] = [];
const files = listFiles(root);
const fileGraph = new Map<string, string[]>();
const moduleGraph = new Map<string, Set<string>>();

for (const file of files) {
  const isTest = file.endsWith('.test.ts');
  const source = readFileSync(file, 'utf8');
  const from = moduleOf(file);
  const edges: string[] = [];
  if (/\/index\.ts$/.test(file) && /export\s+\*/.test(source))
    problems.push(`${rel(file)}: 'export *' in an index; export names`);
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[3] ?? match[4];
    if (!specifier?.startsWith('.')) continue;
    const typeOnly = Boolean(match[2]);
    const target = resolve(dirname(file), specifier);
    const to = moduleOf(target);
    if (!typeOnly) edges.push(target);
    if (to === from || isTest) continue;
    if (!moduleGraph.has(from)) moduleGraph.set(from, new Set());
    if (!typeOnly) moduleGraph.get(from)?.add(to);
    const fromRank = rank[from];
    const toRank = rank[to];
    if (fromRank === undefined || toRank === undefined) {
      problems.push(
        `${rel(file)}: unknown module '${from === undefined ? '?' : fromRank === undefined ? from : to}' (add it to scripts/check-layers.ts)`,
      );
      continue;
    }
    if (toRank > fromRank) problems.push(`${rel(file)}: ${from} may not import ${to} (imports point inward)`);
    if (to !== '(main)' && !target.endsWith(`/${to}/index.ts`)) {
      problems.push(`${rel(file)}: import ${to} through ${to}/index.ts, not ${relative(root, target)}`);
    }
    if (to === 'store' && from !== '(main)' && from !== 'cli' && !typeOnly) {
      problems.push(`${rel(file)}: only main.ts and cli/ pick store adapters; use 'import type' for the store port`);
    }
  }
  fileGraph.set(file, edges);
}

for (const cycle of findCycles(moduleGraph)) problems.push(`module cycle: ${cycle.join(' -> ')}`);
const fileSets = new Map([...fileGraph].map(([k, v]) => [k, new Set(v)]));
for (const cycle of findCycles(fileSets)) problems.push(`file cycle: ${cycle.map(rel).join(' -> ')}`);

function findCycles(graph: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

function rel(file: string): string {
  return relative(resolve(root, '..'), file);
}

if (problems.length > 0) {
  console.error(`Layering check failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`Layering check passed: ${files.length} files, ${moduleGraph.size} modules, no cycles.`);
