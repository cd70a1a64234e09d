import { randomBytes } from 'node:crypto';

/**
 * A fresh PostgreSQL schema name for one test run (`gh_test_` + 12 hex digits), so parallel suites and repeated
 * runs never share tables. Use with `openStore(url, { schema, dropSchemaOnClose: true })`; a child process
 * joins the same schema through `postgres://...?schema=<name>`.
 */
export function createTestSchemaName(): string {
  return `gh_test_${randomBytes(6).toString('hex')}`;
}
