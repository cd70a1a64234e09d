/**
 * One-off, mechanical: the issue-15 query sets labelled Google Discovery tools `{service}_{full method id}` (e.g.
 * `gmail_gmail_users_messages_send`) before the catalogue imported Discovery documents. This rewrites every such
 * label (expected and alternatives, Calendar and Gmail only) to the name the catalogue gives the same method
 * (`toToolName(service, toMethodKey(method id, API name))`, e.g. `gmail_users_messages_send`). Query texts and
 * every other field are left as they are. Fails on a label that names no method of the document.
 *
 *   GATEHOUSE_SPECS_DIR=/path/to/shared/specs npx tsx bench/tool-search/remap-discovery-labels.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { toMethodKey } from '../../src/catalog/discovery/rest-description.ts';
import { toToolName } from '../../src/catalog/index.ts';
import { splitFiles } from './query-set.ts';
import { apiFiles, specsDir } from './specs.ts';

interface Resource {
  readonly methods?: Record<string, { readonly id: string }>;
  readonly resources?: Record<string, Resource>;
}

const renames = new Map<string, Map<string, string>>();
for (const api of ['calendar', 'gmail'] as const) {
  const document = JSON.parse(readFileSync(resolve(specsDir, apiFiles[api]), 'utf8')) as Resource & { name: string };
  const map = new Map<string, string>();
  const walk = (resource: Resource): void => {
    for (const method of Object.values(resource.methods ?? {}))
      map.set(toToolName(api, method.id), toToolName(api, toMethodKey(method.id, document.name)));
    for (const child of Object.values(resource.resources ?? {})) walk(child);
  };
  walk(document);
  renames.set(api, map);
}

type QuerySet = { queries: { api: string; expected: string; alternatives: string[] }[] };

for (const file of Object.values(splitFiles)) {
  const text = readFileSync(file, 'utf8');
  const set = JSON.parse(text) as QuerySet;
  let changed = 0;
  for (const query of set.queries) {
    const map = renames.get(query.api);
    if (map === undefined) continue;
    const rename = (label: string): string => {
      const next = map.get(label);
      if (next === undefined) throw new Error(`${file}: label ${label} names no ${query.api} method`);
      if (next !== label) changed++;
      return next;
    };
    query.expected = rename(query.expected);
    query.alternatives = query.alternatives.map(rename);
  }
  // Written as a replacement of each quoted old label, so the file keeps its layout; the result must parse to
  // exactly the renamed set (a query text quoting a label would make it differ, and stops the script).
  let out = text;
  for (const map of renames.values())
    for (const [from, to] of map) if (from !== to) out = out.replaceAll(JSON.stringify(from), JSON.stringify(to));
  if (JSON.stringify(JSON.parse(out)) !== JSON.stringify(set)) throw new Error(`${file}: a rename touched a non-label`);
  writeFileSync(file, out);
  console.log(`${file}: ${changed} label(s) renamed`);
}
