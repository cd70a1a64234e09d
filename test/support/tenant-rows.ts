import Database from 'better-sqlite3';
import pg from 'pg';
import { parseStoreUrl } from '../../src/store/index.ts';

/** A table with a column naming its tenant, as found in the live schema. */
export interface TenantTable {
  readonly table: string;
  readonly column: string;
}

/** A column as the catalogue describes it, in the words sampleValue needs. */
export interface SampleColumn {
  readonly name: string;
  /** Lower-case declared type: `text`, `integer`, `bigint`, `blob`, `bytea`, `double precision`, `boolean`... */
  readonly type: string;
  readonly nullable: boolean;
}

/**
 * Raw SQL around a store (as its owner or a superuser, so PostgreSQL's row-level security does not apply), for
 * tests that must see every table with a tenant column, found in the catalogue (information_schema on PostgreSQL,
 * sqlite_master and `pragma table_info` on SQLite) rather than taken from a list, so a table added by a later
 * migration is covered without anyone remembering it.
 */
export interface TenantRows {
  /** Every table with a `tenant_id` column, and `tenants` by its `id`. */
  tenantTables(): Promise<readonly TenantTable[]>;
  /** Inserts one row of `tenant` with a sample value in every column (nothing when a row with its key exists). */
  insertSample(table: TenantTable, tenant: string): Promise<void>;
  count(table: TenantTable, tenant: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A value of a column's type; text carries the tenant and the column, so per-table unique columns never collide
 * across the two tenants' rows.
 */
export function sampleValue(column: SampleColumn, tenant: string): unknown {
  if (column.nullable) return null;
  if (/char|text|clob/.test(column.type)) return `${tenant}-${column.name}`;
  if (/blob|bytea/.test(column.type) || column.type === '') return Buffer.from([1]);
  if (column.type === 'boolean') return false;
  return 1; // integer, bigint, double precision, real, numeric
}

/** Opens raw access to the database of a store URL (`sqlite:<file>` or `postgres://...?schema=`). */
export async function openTenantRows(storeUrl: string): Promise<TenantRows> {
  const location = parseStoreUrl(storeUrl);
  if (location.dialect === 'sqlite') {
    const db = new Database(location.path);
    const columnsOf = (table: string) =>
      (
        db.prepare(`pragma table_info("${table}")`).all() as {
          name: string;
          type: string;
          notnull: number;
          pk: number;
        }[]
      ).map(
        (c): SampleColumn => ({ name: c.name, type: c.type.toLowerCase(), nullable: c.notnull === 0 && c.pk === 0 }),
      );
    return {
      async tenantTables() {
        const tables = db
          .prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`)
          .all() as { name: string }[];
        return tables.flatMap(({ name }) => {
          const columns = columnsOf(name).map((c) => c.name);
          if (columns.includes('tenant_id')) return [{ table: name, column: 'tenant_id' }];
          return name === 'tenants' ? [{ table: name, column: 'id' }] : [];
        });
      },
      async insertSample({ table, column }, tenant) {
        const columns = columnsOf(table);
        const values = columns.map((c) => (c.name === column ? tenant : sampleValue(c, tenant)));
        db.prepare(
          `insert into "${table}" (${columns.map((c) => `"${c.name}"`).join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict do nothing`,
        ).run(...values.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
      },
      async count({ table, column }, tenant) {
        return (db.prepare(`select count(*) as n from "${table}" where "${column}" = ?`).get(tenant) as { n: number })
          .n;
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({
    connectionString: location.connectionString,
    ...(location.schema === undefined ? {} : { options: `-c search_path=${location.schema}` }),
  });
  await client.connect();
  const columnsOf = async (table: string) =>
    (
      await client.query<{ column_name: string; data_type: string; is_nullable: 'YES' | 'NO' }>(
        `select column_name, data_type, is_nullable from information_schema.columns
          where table_schema = current_schema() and table_name = $1 order by ordinal_position`,
        [table],
      )
    ).rows.map((c): SampleColumn => ({ name: c.column_name, type: c.data_type, nullable: c.is_nullable === 'YES' }));
  return {
    async tenantTables() {
      const { rows } = await client.query<{ table_name: string; column_name: string }>(
        `select table_name, column_name from information_schema.columns
          where table_schema = current_schema() and (column_name = 'tenant_id' or (table_name = 'tenants' and column_name = 'id'))
          order by table_name`,
      );
      return rows.map((row) => ({ table: row.table_name, column: row.column_name }));
    },
    async insertSample({ table, column }, tenant) {
      const columns = await columnsOf(table);
      const values = columns.map((c) => (c.name === column ? tenant : sampleValue(c, tenant)));
      await client.query(
        `insert into ${table} (${columns.map((c) => c.name).join(', ')})
          values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) on conflict do nothing`,
        values,
      );
    },
    async count({ table, column }, tenant) {
      const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${table} where ${column} = $1`, [
        tenant,
      ]);
      return Number(rows[0]?.n ?? 0);
    },
    async close() {
      await client.end();
    },
  };
}
