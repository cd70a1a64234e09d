/**
 * S5 (BENCHMARKS.md): context cost of a toolset over the GitHub description: tokens (o200k) of its default
 * `tools/list` answer, target <= 2,000 at any catalogue size. Prints, for context, the same toolset with
 * discovery off (`discovery.mode: never`: every schema listed), and GitHub + Stripe together. The figure is a
 * count, not a timing, so one run is enough.
 *
 *   npx tsx bench/s5-list-tokens.ts
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../src/core/index.ts';
import { inspectConfig } from '../src/gateway/index.ts';

const specs = resolve(import.meta.dirname, '..', '..', 'shared', 'specs');
const github = resolve(specs, 'github.api.github.com.json');
const stripe = resolve(specs, 'stripe.spec3.2023-09-12.yaml');
if (!existsSync(github) || !existsSync(stripe)) {
  console.log('S5 skipped: ../shared/specs not found');
  process.exit(0);
}
const target = 2_000;
const config = parseConfig(
  {
    tenants: [
      {
        id: 'bench',
        services: [
          { id: 'github', openapi: github },
          { id: 'stripe', openapi: stripe },
        ],
        toolsets: [
          { id: 'github-read', tools: ['github_*'] },
          { id: 'github-write', tools: ['github_*'], access: 'write' },
          { id: 'github-full', tools: ['github_*'], access: 'write', discovery: { mode: 'never' } },
          { id: 'both', tools: ['*'], access: 'write' },
          {
            id: 'pinned',
            tools: ['github_*'],
            discovery: { pinned: ['github_repos_get', 'github_issues_list-for-repo'] },
          },
        ],
      },
    ],
  },
  { env: {} },
);
const reports = inspectConfig(config);
console.log('S5 tools/list tokens (o200k)');
for (const report of reports) {
  const counted = report.tools.length;
  const pass = ['github-full', 'pinned'].includes(report.toolset)
    ? 'context'
    : report.listTokens <= target
      ? 'pass'
      : 'FAIL';
  console.log(
    `  ${report.toolset.padEnd(13)} ${String(counted).padStart(5)} tools  tools/list = ${String(report.listTokens).padStart(7)} tokens  target <= ${target}  ${pass}`,
  );
}
