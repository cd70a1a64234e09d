import type { S1Result } from './s1-latency.ts';
import type { S2Result } from './s2-throughput.ts';
import type { S4Result } from './s4-catalog.ts';
import { type S13Driver, type S13Result, s13Drivers } from './s13-sdk-client.ts';
import type { S15Result } from './s15-config-propagation.ts';
import type { Target } from './target.ts';

/** One line of the summary: BENCHMARKS.md's "name, our figure, baseline figure, ratio, target, pass/fail". */
export type ReportRow = {
  scenario: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  result: 'pass' | 'fail' | 'n/a' | 'info';
};

/**
 * Turns scenario results into summary rows: the gated figures (gatehouse against its targets, or "not available"
 * with n/a when the gatehouse target could not run) followed by context rows for the baselines.
 */
export function createReportRows(targets: readonly Target[], s1?: S1Result, s2?: S2Result): ReportRow[] {
  const rows: ReportRow[] = [];
  const gatehouse = targets.find((t) => t.name === 'gatehouse');
  const missing = gatehouse?.unavailable ? 'not available' : 'no result';
  if (s1) {
    const direct = s1.summary.direct;
    // The client key, then the same call with an OAuth access token (its check must cost no more).
    for (const [name, key, limit] of [
      ['gatehouse', 'p50', 1],
      ['gatehouse', 'p99', 5],
      ['gatehouse-oauth', 'p50', 1],
      ['gatehouse-oauth', 'p99', 5],
    ] as const) {
      const gh = s1.summary[name];
      if (name === 'gatehouse-oauth' && !targets.some((t) => t.name === name)) continue;
      const added = key === 'p50' ? gh?.addedP50 : gh?.addedP99;
      rows.push({
        scenario: `S1 added ${key} latency, ${name} - direct @${s1.rate}/s`,
        ours: gh ? `${name} ${formatMs(gh[key])}${formatFailed(gh.failed)}` : `${name} ${missing}`,
        baseline: direct ? `direct ${formatMs(direct[key])}` : 'direct -',
        ratio: added === undefined ? '-' : formatAdded(added),
        target: `<= ${limit} ms`,
        result: added === undefined ? 'n/a' : added <= limit ? 'pass' : 'fail',
      });
    }
    const raw = s1.summary.raw;
    if (raw && direct) {
      rows.push({
        scenario: 'S1 context: raw - direct',
        ours: `raw p50 ${formatMs(raw.p50)} p99 ${formatMs(raw.p99)}`,
        baseline: `direct p50 ${formatMs(direct.p50)} p99 ${formatMs(direct.p99)}`,
        ratio: `${formatAdded(raw.addedP50!)} / ${formatAdded(raw.addedP99!)}`,
        target: '-',
        result: 'info',
      });
    }
  }
  if (s2) {
    const rps = (name: Target['name']): number | undefined => s2.summary[name]?.rps;
    const failed = (name: Target['name']): string => formatFailed(s2.summary[name]?.failed ?? 0);
    const ratioRow = (
      scenario: string,
      oursName: Target['name'],
      baseName: Target['name'],
      limit?: number,
    ): ReportRow => {
      const ours = rps(oursName);
      const base = rps(baseName);
      const ratio = ours !== undefined && base !== undefined && base > 0 ? ours / base : undefined;
      return {
        scenario,
        ours:
          ours === undefined
            ? `${oursName} ${oursName.startsWith('gatehouse') ? missing : '-'}`
            : `${oursName} ${formatRps(ours)}${failed(oursName)}`,
        baseline: base === undefined ? `${baseName} -` : `${baseName} ${formatRps(base)}${failed(baseName)}`,
        ratio: ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
        target: limit === undefined ? '-' : `>= ${limit.toFixed(1)}x`,
        result: limit === undefined ? 'info' : ratio === undefined ? 'n/a' : ratio >= limit ? 'pass' : 'fail',
      };
    };
    rows.push(ratioRow(`S2 req/s gatehouse/sdk, ${s2.connections} conns`, 'gatehouse', 'sdk', 3));
    rows.push(ratioRow(`S2 req/s gatehouse/raw, ${s2.connections} conns`, 'gatehouse', 'raw', 0.5));
    if (targets.some((t) => t.name === 'gatehouse-oauth')) {
      // Same process, same call: an access token instead of a client key (issue 16: no dearer than a key).
      rows.push(
        ratioRow(`S2 req/s gatehouse-oauth/gatehouse, ${s2.connections} conns`, 'gatehouse-oauth', 'gatehouse', 0.9),
      );
    }
    rows.push(ratioRow('S2 context: raw/sdk', 'raw', 'sdk'));
    rows.push(ratioRow('S2 context: direct/raw', 'direct', 'raw'));
    // Server CPU per request moves far less than req/s when other processes share the cores.
    const cpu = (name: Target['name']): number | undefined => s2.summary[name]?.serverCpuMsPerRequest;
    for (const baseName of ['sdk', 'raw'] as const) {
      const ours = cpu('gatehouse');
      const base = cpu(baseName);
      if (ours === undefined || base === undefined) continue;
      rows.push({
        scenario: `S2 context: server CPU/req, ${baseName}/gatehouse`,
        ours: `gatehouse ${formatMs(ours)}`,
        baseline: `${baseName} ${formatMs(base)}`,
        ratio: `${(base / ours).toFixed(2)}x`,
        target: '-',
        result: 'info',
      });
    }
  }
  return rows;
}

/**
 * S13 rows: gatehouse's server CPU per call under each SDK client against its autocannon figure at the same 16 in
 * flight (gated <= 1.5x) and against the peer under the same client (gated <= 0.5x); as context, the fixed body at
 * the client's rate, raw under both drivers, raw and sdk under the client, and S2's 50-connection figure.
 */
export function createS13Rows(targets: readonly Target[], s13: S13Result, s2?: S2Result): ReportRow[] {
  const rows: ReportRow[] = [];
  const cpu = (name: Target['name'], driver: S13Driver): number | undefined =>
    s13.summary[name]?.[driver]?.serverCpuMsPerCall;
  const label = (name: Target['name'], driver: S13Driver): string => {
    const value = cpu(name, driver);
    const failed = formatFailed(s13.summary[name]?.[driver]?.failed ?? 0);
    if (value !== undefined) return `${name} ${formatMs(value)}${failed}`;
    return `${name} ${targets.find((t) => t.name === name)?.unavailable ? 'not available' : '-'}`;
  };
  const row = (
    scenario: string,
    ours: [Target['name'], S13Driver],
    base: [Target['name'], S13Driver],
    limit?: number,
  ): ReportRow => {
    const a = cpu(...ours);
    const b = cpu(...base);
    const ratio = a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
    return {
      scenario,
      ours: label(...ours),
      baseline: label(...base),
      ratio: ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
      target: limit === undefined ? '-' : `<= ${limit}x`,
      result: limit === undefined ? 'info' : ratio === undefined ? 'n/a' : ratio <= limit ? 'pass' : 'fail',
    };
  };
  const clients = ['sdk 1.x', 'sdk 2.x'] as const;
  for (const client of clients) {
    rows.push(
      row(
        `S13 server CPU/call, gatehouse ${client} client / autocannon, ${s13.inFlight} in flight`,
        ['gatehouse', client],
        ['gatehouse', 'autocannon'],
        1.5,
      ),
    );
  }
  for (const client of clients) {
    rows.push(
      row(`S13 server CPU/call, gatehouse/peer, ${client} client`, ['gatehouse', client], ['peer', client], 0.5),
    );
  }
  // Where the difference goes: the same fixed body at the client's rate (the arrival rate's share), the
  // minimal raw server under the same two drivers, and the baselines under the same client.
  rows.push(
    row(
      'S13 context: server CPU/call, gatehouse sdk 1.x client / fixed body at its rate',
      ['gatehouse', 'sdk 1.x'],
      ['gatehouse', 'fixed @ client rate'],
    ),
    row('S13 context: server CPU/call, raw sdk 1.x client / autocannon', ['raw', 'sdk 1.x'], ['raw', 'autocannon']),
    row('S13 context: server CPU/call, gatehouse/raw, sdk 1.x client', ['gatehouse', 'sdk 1.x'], ['raw', 'sdk 1.x']),
    row('S13 context: server CPU/call, gatehouse/sdk, sdk 1.x client', ['gatehouse', 'sdk 1.x'], ['sdk', 'sdk 1.x']),
  );
  const s2Cpu = s2?.summary.gatehouse?.serverCpuMsPerRequest;
  const viaClient = cpu('gatehouse', 'sdk 1.x');
  if (s2Cpu !== undefined && viaClient !== undefined) {
    rows.push({
      scenario: `S13 context: server CPU/call, gatehouse sdk 1.x client / S2 autocannon ${s2?.connections} conns`,
      ours: `gatehouse ${formatMs(viaClient)}`,
      baseline: `gatehouse ${formatMs(s2Cpu)}`,
      ratio: `${(viaClient / s2Cpu).toFixed(2)}x`,
      target: '-',
      result: 'info',
    });
  }
  return rows;
}

/** The rows as aligned plain-text columns, one line per row. */
export function formatRowsAsText(rows: readonly ReportRow[]): string {
  const header: ReportRow = {
    scenario: 'scenario',
    ours: 'ours',
    baseline: 'baseline',
    ratio: 'ratio/added',
    target: 'target',
    result: 'pass' as const,
  };
  const all = [header, ...rows];
  const columns = ['scenario', 'ours', 'baseline', 'ratio', 'target'] as const;
  const widths = columns.map((c) => Math.max(...all.map((r) => r[c].length)));
  return all
    .map((row, i) => {
      const cells = columns.map((c, j) => row[c].padEnd(widths[j]!));
      return [...cells, i === 0 ? 'result' : row.result].join('  ');
    })
    .join('\n');
}

/** `bench/LATEST.md`: the rows and the absolute per-target figures of one run, with what produced them. */
export function formatLatestMarkdown(input: {
  rows: readonly ReportRow[];
  targets: readonly Target[];
  s1?: S1Result;
  s2?: S2Result;
  s13?: S13Result;
  meta: { date: string; commit: string; mode: string; node: string; cpus: number; loadavg: string };
}): string {
  const { meta } = input;
  const lines = [
    '# Latest benchmark run',
    '',
    `${meta.date} · commit ${meta.commit} · ${meta.mode} mode · Node ${meta.node} · ${meta.cpus} CPUs · ` +
      `load average at start ${meta.loadavg}. Produced by \`npm run bench\`; full results in \`bench/results/\` ` +
      '(not committed). Ratios come from one interleaved run; absolute figures are context only (BENCHMARKS.md).',
    '',
    '| scenario | ours | baseline | ratio / added | target | result |',
    '|---|---|---|---|---|---|',
    ...input.rows.map((r) => `| ${r.scenario} | ${r.ours} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.result} |`),
    '',
    '| target | S1 p50 | S1 p99 | S2 req/s | S2 server CPU/req | note |',
    '|---|---|---|---|---|---|',
  ];
  for (const target of input.targets) {
    if (target.name === 'peer') continue;
    const l = input.s1?.summary[target.name];
    const t = input.s2?.summary[target.name];
    const cpu = t?.serverCpuMsPerRequest;
    lines.push(
      `| ${target.name} | ${l ? formatMs(l.p50) : '-'} | ${l ? formatMs(l.p99) : '-'} | ` +
        `${t ? formatRps(t.rps) : '-'} | ${cpu === undefined ? '-' : formatMs(cpu)} | ` +
        `${target.unavailable ? `not available: ${target.unavailable.replaceAll('|', '/').slice(0, 160)}` : (target.note ?? '')} |`,
    );
  }
  if (input.s13) {
    const s13 = input.s13;
    lines.push(
      '',
      `S13, server CPU per call and calls/s at ${s13.inFlight} in flight, by driver:`,
      '',
      `| target | ${s13Drivers.join(' | ')} |`,
      `|---|${s13Drivers.map(() => '---|').join('')}`,
    );
    for (const target of input.targets) {
      const byDriver = s13.summary[target.name];
      if (byDriver === undefined) continue;
      const cells = s13Drivers.map((driver) => {
        const f = byDriver[driver];
        if (f === undefined) return '-';
        const cpu = f.serverCpuMsPerCall === undefined ? '-' : formatMs(f.serverCpuMsPerCall);
        return `${cpu}, ${Math.round(f.rps)}/s${formatFailed(f.failed)}`;
      });
      lines.push(`| ${target.name} | ${cells.join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
}

/** S4 rows: per description, the cold-process wall time (against read+parse as context) and the peak RSS. */
export function createS4Rows(s4: S4Result): ReportRow[] {
  if ('skipped' in s4) {
    return [
      {
        scenario: 'S4 description to tools',
        ours: `skipped: ${s4.skipped}`,
        baseline: '-',
        ratio: '-',
        target: '-',
        result: 'n/a',
      },
    ];
  }
  return s4.cases.flatMap((c) => [
    {
      scenario: `${c.scenario} ${c.service} description to ${c.tools} tools, cold process`,
      ours: `gatehouse ${formatMs(c.ms)}`,
      baseline: `read+parse ${formatMs(c.baselineMs)}`,
      ratio: `${(c.ms / c.baselineMs).toFixed(2)}x`,
      target: `<= ${c.targetMs} ms`,
      result: c.ms <= c.targetMs ? 'pass' : 'fail',
    },
    {
      scenario: `${c.scenario} ${c.service} peak RSS`,
      ours: `${c.rssMb.toFixed(0)} MB`,
      baseline: '-',
      ratio: '-',
      target: `<= ${c.targetRssMb} MB`,
      result: c.rssMb <= c.targetRssMb ? 'pass' : 'fail',
    },
  ]);
}

/** Failed requests are excluded from every figure; saying how many keeps a fast error path from passing unseen. */
function formatFailed(count: number): string {
  return count > 0 ? ` (${count} failed)` : '';
}

function formatAdded(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${formatMs(ms)}`;
}

function formatRps(rps: number): string {
  return `${Math.round(rps)} req/s`;
}

/** S15: p50 and p99 of the time until three gateways serve a configuration change (target p99 <= 2 s). */
export function createS15Rows(s15: S15Result): ReportRow[] {
  if ('skipped' in s15) {
    return [
      {
        scenario: 'S15 config change seen by 3 gateways',
        ours: `skipped: ${s15.skipped}`,
        baseline: '-',
        ratio: '-',
        target: '-',
        result: 'n/a',
      },
    ];
  }
  return [
    {
      scenario: `S15 config change seen by ${s15.processes} gatehouse processes (${s15.changes} changes)`,
      ours: `p99 ${formatMs(s15.p99Ms)} (p50 ${formatMs(s15.p50Ms)})`,
      baseline: '-',
      ratio: '-',
      target: '<= 2000 ms p99',
      result: s15.p99Ms <= 2_000 ? 'pass' : 'fail',
    },
  ];
}
