import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createLockOwner, isLockOwnerGone } from './refresh-lock.ts';

/**
 * Issue 13: a lease whose holder has certainly exited is ended at once; every case where that is not certain keeps
 * the lease (waiting it out stays the rule). Linux only: elsewhere nothing is ever judged gone.
 */
const onLinux = process.platform === 'linux';

/** A process that prints the owner id `createLockOwner` makes in it, then runs until its stdin closes or it is killed. */
function startOwnerProcess() {
  const lockModule = new URL('./refresh-lock.ts', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { createLockOwner } = await import(${JSON.stringify(lockModule)});
       console.log(createLockOwner());
       process.stdin.resume();`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const owner = once(createInterface({ input: child.stdout }), 'line').then(([line]) => String(line));
  return { child, owner };
}

describe.skipIf(!onLinux)('isLockOwnerGone (issue 13)', () => {
  it('this process is not gone; an owner of an older release or of another host is never judged gone', () => {
    const own = createLockOwner();
    expect(own).toMatch(/^\d+\.[a-z0-9]+\.\d+\.\d+@[0-9a-f-]+\/\d+\/\d+$/);
    expect(isLockOwnerGone(own)).toBe(false);
    // The format before issue 13: no start time, no scope.
    expect(isLockOwnerGone('999999999.abc.1')).toBe(false);
    // Another host (another boot id): its pid means nothing here.
    const [id] = own.split('@');
    expect(isLockOwnerGone(`${id}@00000000-0000-0000-0000-000000000000/1/0`)).toBe(false);
  });

  it('a process of this host is alive until it exits, then gone; a reused pid (another start time) is gone', async () => {
    const { child, owner } = startOwnerProcess();
    const id = await owner;
    expect(isLockOwnerGone(id)).toBe(false);
    // The same pid with another start time: the owner's process ended and the pid now names another one.
    const [pid, random, n, start, scope] = id.split(/[.@]/);
    expect(isLockOwnerGone(`${pid}.${random}.${n}.${Number(start) + 1}@${scope}`)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(isLockOwnerGone(id)).toBe(true);
  });
});
