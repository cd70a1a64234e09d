import { readFileSync, readlinkSync } from 'node:fs';
import type { Clock } from '../core/index.ts';
import type { ConnectionRepository, LockedConnection } from '../store/index.ts';

/**
 * The cross-process lock around one refresh-token redemption (DESIGN.md §6). Whatever the mechanism, the SQL
 * fence (`commitTokens` checks `tokenVersion`) is what makes a late holder harmless; the lock only keeps
 * siblings from redeeming the same refresh token at the same time.
 */
export interface RefreshLock {
  /** How long a holder is protected; the engine keeps its token request shorter than this. */
  readonly leaseMs: number;
  /**
   * Runs `fn` holding the lock of one connection, with the row re-read under it and the repository to write
   * through. Throws `credential_unavailable` (`details.reason: 'refresh_busy'`) when a sibling holds it longer
   * than the wait, and `store_unavailable` when the store cannot be reached (`fn` is then not run).
   */
  withLock<T>(tenantId: string, connectionId: string, fn: (locked: LockedConnection) => Promise<T>): Promise<T>;
}

export interface StoreRefreshLockOptions {
  readonly clock: Clock;
  /** Default 15,000 ms. */
  readonly leaseMs?: number;
  /** How long to wait for a sibling's lock; default 10,000 ms. */
  readonly waitMs?: number;
}

let ownerCount = 0;

/**
 * Owner ids unique per process and attempt: `<pid>.<random>.<n>`, followed where this process can be looked up in
 * /proc by `.<start time>@<scope>` (see `isLockOwnerGone`).
 */
export function createLockOwner(): string {
  const id = `${process.pid}.${Math.random().toString(36).slice(2, 10)}.${++ownerCount}`;
  return localProcess === undefined ? id : `${id}.${localProcess.startTime}@${localProcess.scope}`;
}

/**
 * True only when the process that made `owner` has certainly exited, so its lease can be ended at once instead of
 * waited out (a SIGKILLed holder releases nothing). That is known only for an owner of the same scope as this
 * process: same kernel boot, pid namespace and user, where `/proc/<pid>` names the same process for both (a
 * different user's process may be hidden by `hidepid`); then its pid names no process, a zombie, or a process
 * started at another time (the pid was reused). Anything else (another host, another container, an owner of an
 * older release, /proc unreadable) is false: a live holder keeps its lease, and waiting it out stays the rule.
 */
export function isLockOwnerGone(owner: string): boolean {
  if (localProcess === undefined) return false;
  const at = owner.indexOf('@');
  if (at === -1 || owner.slice(at + 1) !== localProcess.scope) return false;
  const [pid, , , startTime] = owner.slice(0, at).split('.');
  if (pid === undefined || !/^\d+$/.test(pid) || startTime === undefined) return false;
  try {
    const now = readProcessStat(pid);
    return now === undefined || now.state === 'Z' || now.state === 'X' || now.startTime !== startTime;
  } catch {
    return false;
  }
}

/** This process's start time and scope (`<boot id>/<pid namespace>/<uid>`), or undefined off Linux. */
const localProcess = readLocalProcess();

function readLocalProcess(): { readonly startTime: string; readonly scope: string } | undefined {
  try {
    const self = readProcessStat(String(process.pid));
    // /proc of another pid namespace (or none) would name other processes by our pids: no lookups then.
    if (self === undefined || readlinkSync('/proc/self') !== String(process.pid)) return undefined;
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const namespace = readlinkSync('/proc/self/ns/pid').replace(/\D/g, '');
    return { startTime: self.startTime, scope: `${boot}/${namespace}/${process.getuid?.() ?? ''}` };
  } catch {
    return undefined;
  }
}

/** State and start time (clock ticks after boot) of process `pid`; undefined when no such process; throws otherwise. */
function readProcessStat(pid: string): { readonly state: string; readonly startTime: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') {
      return undefined;
    }
    throw error;
  }
  // Fields after the parenthesised command name (which may hold spaces): state is field 3, starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === undefined || startTime === undefined) throw new Error(`unreadable /proc/${pid}/stat`);
  return { state, startTime };
}

/**
 * The lock the store provides: on PostgreSQL a transaction holding the connection's row (`FOR UPDATE`) across
 * the redemption, its writes committed before the lock is let go, with the lease enforced by the server
 * (`idle_in_transaction_session_timeout`); on SQLite a lease on the row, released by compare-and-delete.
 */
export function createStoreRefreshLock(
  connections: ConnectionRepository,
  options: StoreRefreshLockOptions,
): RefreshLock {
  const leaseMs = options.leaseMs ?? 15_000;
  const waitMs = options.waitMs ?? 10_000;
  const now = () => options.clock.now();
  return {
    leaseMs,
    withLock: (tenantId, connectionId, fn) =>
      connections.withRefreshLock(
        tenantId,
        connectionId,
        { owner: createLockOwner(), leaseMs, waitMs, now, isOwnerGone: isLockOwnerGone },
        fn,
      ),
  };
}
