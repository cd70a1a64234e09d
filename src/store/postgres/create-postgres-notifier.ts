import { sql } from 'kysely';
import type pg from 'pg';
import type { TenantConfigNotifier } from '../create-tenant-config-repository.ts';

/** When a dropped LISTEN connection is opened again: after a second, then doubling up to a few seconds. */
const firstRetryMs = 1_000;
const maxRetryMs = 5_000;

/**
 * Tenant configuration notices over PostgreSQL `LISTEN/NOTIFY`, on a channel per schema (several stores may share
 * one database). The listener holds one pooled connection of its own; if that connection drops it is opened again,
 * and the readers' periodic revision check covers the notices missed meanwhile.
 */
export function createPostgresNotifier(pool: pg.Pool, schema: string): TenantConfigNotifier {
  const channel = `gatehouse_config_${schema}`.slice(0, 63);
  return {
    async notify(trx, tenantId) {
      await sql`select pg_notify(${channel}, ${tenantId})`.execute(trx);
    },
    async listen(listener) {
      let stopped = false;
      let client: pg.PoolClient | undefined;
      let timer: NodeJS.Timeout | undefined;
      const onNotification = (message: pg.Notification) => {
        if (message.channel === channel && message.payload) listener(message.payload);
      };
      // Tried again until it holds, every second at first, then every few (finding listen_not_reopened_after_outage:
      // one try a second after the drop failed for good when PostgreSQL was still down, a restart or a failover).
      const connectLater = (delayMs: number) => {
        if (stopped || timer !== undefined) return;
        timer = setTimeout(() => {
          timer = undefined;
          void connect().catch(() => connectLater(Math.min(delayMs * 2, maxRetryMs)));
        }, delayMs);
        timer.unref();
      };
      const connect = async (): Promise<void> => {
        const next = await pool.connect();
        let dropped = false;
        const drop = () => {
          if (dropped) return;
          dropped = true;
          next.release(true);
          if (client !== next) return;
          client = undefined;
          connectLater(firstRetryMs);
        };
        next.on('notification', onNotification);
        next.on('error', drop);
        try {
          await next.query(`listen "${channel}"`);
        } catch (error) {
          drop();
          throw error;
        }
        if (dropped) throw new Error('the LISTEN connection dropped');
        if (stopped) {
          dropped = true;
          next.release(true);
          return;
        }
        client = next;
      };
      // Not listening yet (the store unreachable at this moment) is not an error: the readers' periodic check runs.
      await connect().catch(() => connectLater(firstRetryMs));
      return async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        const held = client;
        client = undefined;
        if (held === undefined) return;
        await held.query(`unlisten "${channel}"`).catch(() => undefined);
        held.release();
      };
    },
  };
}
