import { describe, expect, it } from 'vitest';
import { formatLogLine } from './format-log-line.ts';

describe('formatLogLine', () => {
  it('prints time, level, message and fields on one line, leaving out the constant ones', () => {
    const line = JSON.stringify({
      level: 'info',
      time: '2026-12-03T12:30:01.042Z',
      service: 'gatehouse',
      msg: 'tool call',
      tenant: 'demo',
      tool: 'tasks_listTasks',
      decision: 'allow',
      code: null,
      upstreamStatus: 200,
      latencyMs: 3.1,
    });
    expect(formatLogLine(`${line}\n`)).toBe(
      '12:30:01.042 INFO  tool call tenant=demo tool=tasks_listTasks decision=allow upstreamStatus=200 latencyMs=3.1\n',
    );
  });

  it('LG-07 quotes values with spaces or line breaks, so no field or line can be forged', () => {
    const line = JSON.stringify({
      level: 'warn',
      time: '2026-12-03T12:30:01.042Z',
      msg: 'a\nfake=line',
      path: '/x y\n12:00:00.000 INFO  forged',
    });
    const pretty = formatLogLine(line);
    expect(pretty.split('\n')).toHaveLength(2); // one line and the final newline
    expect(pretty).toContain('"a\\nfake=line"');
    expect(pretty).toContain('path="/x y\\n12:00:00.000 INFO  forged"');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('not json\n')).toBe('not json\n');
  });
});
