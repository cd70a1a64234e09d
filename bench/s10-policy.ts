/**
 * S10 (BENCHMARKS.md), policy half: time per `decideToolCall()` with warm validators, target <= 20 us. The
 * toolset is realistic: globs and excludes, a scope restriction and a provider hierarchy, a connection grant to
 * check, argument constraints (compiled with the tool's schema into one validator) and the approval flag.
 * Each round runs `--iterations` decisions over a mix of calls (a read with a grant check, a constrained write
 * with a nested body, a destructive call flagged for approval); rate limits are the limiter's own figure; the median of `--rounds` is the figure,
 * interleaved with a baseline of the bare Ajv validation of the same arguments (what any gateway pays).
 *
 *   npx tsx bench/s10-policy.ts [--iterations 200000] [--rounds 5]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bindCatalog, loadCatalog } from '../src/catalog/index.ts';
import { parseConfig } from '../src/core/index.ts';
import { compileToolsetPolicy, decideToolCall, validateArguments } from '../src/policy/index.ts';
import { median } from './percentile.ts';

const targetUs = 20;
const { values: args } = parseArgs({
  options: { iterations: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } },
});
const iterations = Number(args.iterations);
const rounds = Number(args.rounds);

const description = fileURLToPath(new URL('../test/fixtures/scoped-api.openapi.yaml', import.meta.url));
const bound = bindCatalog(loadCatalog(description), 'crm');
const config = parseConfig(
  {
    tenants: [
      {
        id: 'acme',
        toolsets: [
          {
            id: 'agent',
            tools: ['crm_*'],
            exclude: ['crm_exportAll'],
            access: 'write',
            approval: 'destructive',
            policy: {
              scopes: ['items:read', 'items:write', 'admin'],
              constraints: { crm_createItem: { 'body.amount': { maximum: 100 }, 'body.currency': { const: 'EUR' } } },
              safety: { '*_searchItems': 'safe' },
            },
          },
        ],
      },
    ],
  },
  { env: {} },
);
const policy = compileToolsetPolicy(
  config.tenants[0]!.toolsets[0]!,
  new Map(bound.tools.map((t) => [t.name, t] as const)),
  { scopeImplies: new Map([['crm', { admin: ['items:read', 'items:write'] }]]) },
);
const granted = ['items:read', 'items:write'];
const calls = [
  { name: 'crm_listItems', args: { limit: 10 }, grantedScopes: granted },
  {
    name: 'crm_createItem',
    args: { body: { name: 'lamp', amount: 99.5, currency: 'EUR', tags: ['a', 'b'] } },
    grantedScopes: granted,
  },
  { name: 'crm_deleteItem', args: { itemId: '42' }, grantedScopes: granted },
];
for (const call of calls) decideToolCall(policy, call); // warm: compile every validator once

function timeDecisions(): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) decideToolCall(policy, calls[i % 3]!);
  return Number(process.hrtime.bigint() - started) / 1000 / iterations;
}
function timeBaseline(): number {
  const tools = calls.map((c) => policy.tools.get(c.name)!.tool);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) validateArguments(tools[i % 3]!, calls[i % 3]!.args);
  return Number(process.hrtime.bigint() - started) / 1000 / iterations;
}

const ours: number[] = [];
const base: number[] = [];
for (let r = 0; r < rounds; r++) {
  ours.push(timeDecisions());
  base.push(timeBaseline());
}
const us = median(ours);
const baseline = median(base);
console.log(
  `S10 policy decision: ${us.toFixed(2)} us/call (bare Ajv validation ${baseline.toFixed(2)} us, ratio ${(us / baseline).toFixed(2)}x); target <= ${targetUs} us: ${us <= targetUs ? 'pass' : 'FAIL'}`,
);
