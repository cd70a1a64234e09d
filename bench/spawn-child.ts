import { type ChildProcess, spawn } from 'node:child_process';

/** A child process the harness started; `stop()` is idempotent. */
export type ChildHandle = {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last few KB of stderr and stdout, for error messages. */
  stderrTail(): string;
  stop(): Promise<void>;
};

const live = new Set<ChildHandle>();
const stderrLimit = 4096;

/**
 * Spawns `command args` with stdin piped (bench children exit when it closes) and registers it so
 * `stopChildren()` can end it. The caller reads stdout through `handle.process.stdout`.
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd: string },
): ChildHandle {
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  // Always consume both streams so a chatty child never blocks on a full pipe.
  const keepTail = (chunk: Buffer): void => {
    stderr = (stderr + chunk.toString('utf8')).slice(-stderrLimit);
  };
  child.stderr!.on('data', keepTail);
  child.stdout!.on('data', keepTail);
  // A child that dies early closes stdin under us; that is reported through its exit, not as an EPIPE crash.
  child.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const handle: ChildHandle = {
    name,
    process: child,
    stderrTail: () => stderr,
    async stop() {
      live.delete(handle);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
  child.once('exit', () => live.delete(handle));
  live.add(handle);
  return handle;
}

/**
 * Resolves with the first stdout line of `handle` parsed as a TCP port; rejects when the process exits first or
 * after `timeoutMs`.
 */
export function readPort(handle: ChildHandle, timeoutMs = 20_000): Promise<number> {
  return readFirstLine(handle, timeoutMs).then((line) => {
    const port = Number(line.trim());
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`${handle.name}: expected a port on stdout, got '${line.slice(0, 80)}'`);
    }
    return port;
  });
}

/** Resolves with the first line `handle` writes to stdout (see `readPort`). */
export function readFirstLine(handle: ChildHandle, timeoutMs: number): Promise<string> {
  const child = handle.process;
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\n');
      if (end >= 0) finish(() => resolve(buffer.slice(0, end)));
    };
    const onExit = (code: number | null): void =>
      finish(() => reject(new Error(`${handle.name} exited (${code}) before answering: ${handle.stderrTail()}`)));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`${handle.name} gave no output within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const finish = (settle: () => void): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Stops every child still running (SIGTERM, then SIGKILL after 2 s). */
export async function stopChildren(): Promise<void> {
  await Promise.all([...live].map((handle) => handle.stop()));
}

/** Synchronous last resort for `process.on('exit')`: SIGKILL whatever is still registered. */
export function killChildrenNow(): void {
  for (const handle of live) handle.process.kill('SIGKILL');
  live.clear();
}
