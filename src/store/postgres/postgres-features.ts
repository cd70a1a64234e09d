import type { StoreFeatures } from '../store-features.ts';

const unavailableErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * SQLSTATE classes meaning "cannot use the database now": 08 connection exception, 28 invalid authorization,
 * 3D invalid catalog (no such database), 53 insufficient resources, 57P operator intervention (shutdown).
 */
const unavailableSqlState = /^(08|28|3D|53|57P)/;

/**
 * A connection that was lost, as opposed to a database that cannot be reached: 08 connection exception, 57P01
 * admin_shutdown (pg_terminate_backend, a restart), 57P02 crash_shutdown, a reset socket, or the driver's
 * messages for a socket that closed mid-query or before the next statement.
 */
const lostSqlState = /^(08|57P01|57P02)/;
const lostErrnos = new Set(['ECONNRESET', 'EPIPE']);

export const postgresFeatures: StoreFeatures = {
  dialect: 'postgres',
  columnTypes: { millis: 'bigint', bytes: 'bytea', float: 'double precision' },
  isUnavailable(error) {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableErrnos.has(code) || unavailableSqlState.test(code))) return true;
    return /Connection terminated|is not queryable|timeout exceeded when trying to connect|Cannot use a pool after calling end|driver has already been destroyed/.test(
      error.message,
    );
  },
  isConnectionLost(error) {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (lostErrnos.has(code) || lostSqlState.test(code))) return true;
    // "Client has encountered a connection error and is not queryable": a client whose connection died between
    // two statements of one operation (the pool drops it when it comes back).
    return /Connection terminated|encountered a connection error/.test(error.message);
  },
  isPermissionDenied: (error) => error instanceof Error && (error as { code?: unknown }).code === '42501',
  isUniqueViolation: (error) => error instanceof Error && (error as { code?: unknown }).code === '23505',
};
