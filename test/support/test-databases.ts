import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestSchemaName, openStore, withStoreSchema } from '../../src/store/index.ts';

/** A fresh, empty database for one test: its store URL, raw SQL as the table owner, and its removal. */
export interface TestDatabase {
  readonly url: string;
  /** The PostgreSQL schema (for queries around the store); undefined for SQLite. */
  readonly schema?: string;
  /** Runs SQL around the store, as the owner would (tampering, trigger tests). */
  raw(statement: string): Promise<void>;
  /** Drops the PostgreSQL schema (a SQLite file goes with the caller's temp folder). */
  drop(): Promise<void>;
}

export interface TestDatabaseKind {
  readonly name: 'sqlite' | 'postgres';
  /** PostgreSQL only when GATEHOUSE_TEST_POSTGRES is set. */
  readonly enabled: boolean;
  create(): Promise<TestDatabase>;
}

const postgresUrl = process.env['GATEHOUSE_TEST_POSTGRES'];
let files = 0;

/** The store backends the suites run on: a new SQLite file in `dir` each time, or a new `gh_test_` schema. */
export function testDatabases(dir: string): readonly TestDatabaseKind[] {
  return [
    {
      name: 'sqlite',
      enabled: true,
      async create() {
        const path = join(dir, `test-${++files}.db`);
        return {
          url: `sqlite:${path}`,
          async raw(statement) {
            const db = new Database(path);
            try {
              db.exec(statement);
            } finally {
              db.close();
            }
          },
          async drop() {},
        };
      },
    },
    {
      name: 'postgres',
      enabled: postgresUrl !== undefined,
      async create() {
        const schema = createTestSchemaName();
        return {
          url: withStoreSchema(postgresUrl ?? '', schema),
          schema,
          async raw(statement) {
            const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${schema}` });
            await client.connect();
            try {
              await client.query(statement);
            } finally {
              await client.end();
            }
          },
          async drop() {
            await (await openStore(postgresUrl ?? '', { schema, dropSchemaOnClose: true })).close();
          },
        };
      },
    },
  ];
}
