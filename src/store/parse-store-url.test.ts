import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { parseStoreUrl } from './parse-store-url.ts';
import { redactStoreUrl } from './redact-store-url.ts';

function parseError(url: string): GatehouseError {
  try {
    parseStoreUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('config_invalid');
    return error as GatehouseError;
  }
  throw new Error('expected a config error');
}

describe('parseStoreUrl', () => {
  it('reads sqlite paths, relative to the base folder, and :memory:', () => {
    expect(parseStoreUrl('sqlite:/var/lib/gh/gatehouse.db')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/gh/gatehouse.db',
    });
    expect(parseStoreUrl('sqlite:.gatehouse/gatehouse.db', '/etc/gh')).toEqual({
      dialect: 'sqlite',
      path: '/etc/gh/.gatehouse/gatehouse.db',
    });
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
  });

  it('reads postgres and postgresql URLs and takes the schema parameter out of the connection string', () => {
    expect(parseStoreUrl('postgres://u@db:5432/gh')).toEqual({
      dialect: 'postgres',
      connectionString: 'postgres://u@db:5432/gh',
      schema: undefined,
      redacted: 'postgres://u@db:5432/gh',
    });
    const location = parseStoreUrl('postgresql://u:pw@db/gh?sslmode=require&schema=gh_test_1');
    expect(location).toMatchObject({ dialect: 'postgres', schema: 'gh_test_1' });
    if (location.dialect !== 'postgres') throw new Error('postgres expected');
    expect(location.connectionString).toBe('postgresql://u:pw@db/gh?sslmode=require');
    expect(location.redacted).not.toContain('pw@');
  });

  it('rejects unknown schemes, empty paths and unsafe schema names without echoing the password', () => {
    parseError('mysql://u:pw@db/gh');
    parseError('sqlite:');
    parseError('');
    const error = parseError('postgres://u:hunter22@db/gh?schema=x;drop');
    expect(error.message).not.toContain('hunter22');
    parseError('postgres://u:pw@db/gh?schema=Upper');
  });
});

describe('redactStoreUrl', () => {
  it('replaces the password and secret-looking parameters, and keeps everything else', () => {
    expect(redactStoreUrl('postgres://gh:s3cret@db.internal:5432/gh')).toBe('postgres://gh:***@db.internal:5432/gh');
    const redacted = redactStoreUrl('postgres://gh@db/gh?password=s3cret&sslmode=require');
    expect(redacted).not.toContain('s3cret');
    expect(redacted).toContain('sslmode=require');
    expect(redactStoreUrl('postgres://gh@db/gh')).toBe('postgres://gh@db/gh');
    expect(redactStoreUrl('sqlite:/var/lib/gh.db')).toBe('sqlite:/var/lib/gh.db');
  });

  it('keeps only the scheme of a URL it cannot parse', () => {
    expect(redactStoreUrl('postgres://gh:s3cr et@[bad/gh')).toBe('postgres://***');
    expect(redactStoreUrl('nonsense with s3cret')).toBe('//***');
  });
  it('store_url_password_with_slash_printed: a password written unencoded with / # or ? is never printed', () => {
    // `new URL` reads these as a host `gh`, a port and a path, fragment or query: there is no password to replace,
    // and doctor and migrate printed the whole URL in "Cannot reach the PostgreSQL store at ..." (ENOTFOUND).
    for (const url of [
      'postgres://gh:123/s3cret@db.internal:5432/gh',
      'postgres://gh:5#s3cret@db.internal:5432/gh',
      'postgres://gh:77?s3cret@db.internal:5432/gh',
      'postgres://gh:/s3cret@db.internal:5432/gh',
      'redis://:12/s3cret@cache.internal:6379',
    ]) {
      const redacted = redactStoreUrl(url);
      expect(redacted, url).not.toContain('s3cret');
      expect(redacted, url).toContain('***');
    }
    // A password that does parse keeps the host in the message, and an `@` in a parameter alone redacts nothing.
    expect(redactStoreUrl('postgres://gh:a%2Fb@db/gh')).toBe('postgres://gh:***@db/gh');
    expect(redactStoreUrl('postgres://gh@db/gh?application_name=a@b')).toBe('postgres://gh@db/gh?application_name=a@b');
  });
});
