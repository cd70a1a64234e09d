import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../../src/audit/index.ts';

const root = join(import.meta.dirname, '..', '..');

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics and labels the gateway exports (no panel silently shows "no data")', () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exported = createGatewayMetrics().render();
    const families = new Set([...exported.matchAll(/^# TYPE (\S+) (\S+)/gm)].map((m) => m[1]));
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const [name] of target.expr.matchAll(/gatehouse_[a-z_]+/g)) used.add(name);
      }
    }
    expect(used.size).toBeGreaterThan(8);
    const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    expect([...used].filter((name) => !families.has(base(name)))).toEqual([]);
  });
});
