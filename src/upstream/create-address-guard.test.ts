import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { createAddressGuard } from './create-address-guard.ts';

function blockedError(fn: () => void): GatehouseError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected upstream_blocked');
}

describe('createAddressGuard', () => {
  it('(issue 10 item 4) a blocked loopback upstream names the setting that allows it', () => {
    const error = blockedError(() => createAddressGuard([]).checkUrl(new URL('http://127.0.0.1:4010/notes')));
    expect(error.code).toBe('upstream_blocked');
    expect(error.details['allowWith']).toBe('unsafeAllowPrivateUpstreams');
  });

  it('lets a loopback upstream through when its host is listed', () => {
    expect(() => createAddressGuard(['127.0.0.1']).checkUrl(new URL('http://127.0.0.1:4010/notes'))).not.toThrow();
  });
});
