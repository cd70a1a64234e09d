import { readFileSync } from 'node:fs';

// USER_HZ is 100 on every Linux the harness runs on; /proc reports CPU time in these ticks.
const ticksPerSecond = 100;

/**
 * CPU time (user + system, all threads) consumed so far by process `pid`, in milliseconds, read from
 * `/proc/<pid>/stat`; undefined where /proc is missing (not Linux) or the process is gone. 10 ms resolution, so
 * only meaningful over whole rounds.
 */
export function readProcessCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}
