import { sql } from 'kysely';
import type pg from 'pg';
import type { TenantConfigNotifier } from '../create-tenant-config-repository.ts';

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
      const onNotification = (message: pg.Notification) => {
        if (message.channel === channel && message.payload) listener(message.payload);
      };
      const connect = async (): Promise<void> => {
        const next = await pool.connect();
        next.on('notification', onNotification);
        next.on('error', () => {
          next.release(true);
          if (client === next) client = undefined;
          if (!stopped) setTimeout(() => void connect().catch(() => undefined), 1_000).unref();
        });
        await next.query(`listen "${channel}"`);
        client = next;
      };
      await connect();
      return async () => {
        stopped = true;
        const held = client;
        client = undefined;
        if (held === undefined) return;
        await held.query(`unlisten "${channel}"`).catch(() => undefined);
        held.release();
      };
    },
  };
}
