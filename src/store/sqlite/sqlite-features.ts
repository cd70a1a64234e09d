import type { StoreFeatures } from '../store-features.ts';

const unavailableCodes = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/;

export const sqliteFeatures: StoreFeatures = {
  dialect: 'sqlite',
  columnTypes: { millis: 'integer', bytes: 'blob', float: 'real' },
  isUnavailable(error) {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && unavailableCodes.test(code)) return true;
    return /database connection is not open|driver has already been destroyed/.test(error.message);
  },
  // One file opened in-process: there is no connection to lose.
  isConnectionLost: () => false,
  // No roles: whoever opens the file may change it.
  isPermissionDenied: () => false,
  isUniqueViolation: (error) =>
    error instanceof Error &&
    /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(String((error as { code?: unknown }).code)),
};
