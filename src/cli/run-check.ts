import type { Config } from '../core/index.ts';
import { inspectConfig } from '../gateway/index.ts';
import type { CliContext } from './cli-context.ts';
import { formatTable } from './format-table.ts';

/** `gatehouse check`: the config is valid (or this never runs), then each toolset's tools and token sizes. */
export async function runCheck(config: Config, json: boolean, context: CliContext): Promise<number> {
  const reports = inspectConfig(config);
  if (json) {
    context.stdout.write(`${JSON.stringify({ valid: true, toolsets: reports }, null, 2)}\n`);
    return 0;
  }
  context.stdout.write(`Configuration is valid: ${config.tenants.length} tenant(s).\n`);
  for (const report of reports) {
    context.stdout.write(
      `\n${report.tenant}/${report.toolset}: ${report.tools.length} tool(s), tools/list = ${report.listTokens} tokens\n`,
    );
    context.stdout.write(
      formatTable(
        ['tool', 'safety', 'tokens'],
        report.tools.map((t) => [t.name, t.safety, String(t.tokens)]),
      ),
    );
    for (const problem of report.problems) context.stdout.write(`  warning: ${problem}\n`);
  }
  return 0;
}
