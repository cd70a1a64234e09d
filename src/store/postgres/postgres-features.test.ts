import { describe, expect, it } from 'vitest';
import { postgresFeatures } from './postgres-features.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('postgresFeatures: which failures are a lost connection (run a read again) and which are unavailable', () => {
  it('a connection the server ended or the network reset is lost, and unavailable', () => {
    for (const error of [
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('terminating connection because of crash of another server process', '57P02'),
      withCode('connection failure', '08006'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
    ]) {
      expect(postgresFeatures.isConnectionLost(error), error.message).toBe(true);
      expect(postgresFeatures.isUnavailable(error), error.message).toBe(true);
    }
  });

  it('a database that cannot be reached is unavailable but no connection was lost: nothing is run again', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('the database system is starting up', '57P03'),
      withCode('password authentication failed', '28P01'),
    ]) {
      expect(postgresFeatures.isConnectionLost(error), error.message).toBe(false);
      expect(postgresFeatures.isUnavailable(error), error.message).toBe(true);
    }
  });

  it('a bad query is neither', () => {
    const error = withCode('duplicate key value violates unique constraint', '23505');
    expect(postgresFeatures.isConnectionLost(error)).toBe(false);
    expect(postgresFeatures.isUnavailable(error)).toBe(false);
  });
});
