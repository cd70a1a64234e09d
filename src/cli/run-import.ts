import { previewDescription } from '../gateway/index.ts';
import type { CliContext } from './cli-context.ts';
import { formatTable } from './format-table.ts';

/** `gatehouse import <file>`: preview the tools a description becomes, as a table or JSON. */
export function runImport(path: string, service: string, json: boolean, context: CliContext): number {
  const preview = previewDescription(path, service);
  if (json) {
    context.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
    return 0;
  }
  const out = context.stdout;
  out.write(`${preview.title}: ${preview.tools.length} tool(s) as service '${service}'`);
  out.write(
    preview.baseUrl ? `, base URL ${preview.baseUrl}\n` : ', no absolute base URL (set baseUrl in the config)\n',
  );
  out.write(
    formatTable(
      ['tool', 'method', 'path', 'safety', 'scopes', 'tokens'],
      preview.tools.map((t) => [
        t.name,
        t.method,
        t.path,
        t.safety,
        t.scopes.map((alternative) => alternative.join('+')).join(' | ') || '-',
        String(t.tokens),
      ]),
    ),
  );
  for (const problem of preview.problems) out.write(`  skipped ${problem.at}: ${problem.reason}\n`);
  return 0;
}
