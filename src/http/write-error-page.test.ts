import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { writeErrorPage } from './write-error-page.ts';

/** The status, headers and body `writeErrorPage` wrote. */
function written(error: GatehouseError) {
  const out = { status: 0, headers: {} as Record<string, unknown>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, unknown>) {
      out.status = status;
      out.headers = headers;
      return res;
    },
    end(body: string) {
      out.body = body;
    },
  } as unknown as ServerResponse;
  writeErrorPage(res, error);
  return out;
}

describe('writeErrorPage()', () => {
  it('tells a person reaching the gateway under a name it does not answer to what to do', () => {
    const page = written(new GatehouseError('forbidden_origin', 'Host header is not this gateway', { header: 'host' }));
    expect(page.status).toBe(403);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<h1>Refused</h1>');
    expect(page.body).toContain('Host header is not this gateway.');
    expect(page.body).toContain('a name it does not answer to');
  });

  it('escapes the message and shows its invisible characters, and frames nowhere', () => {
    const page = written(new GatehouseError('not_found', 'No <b>such</b> link \u202Efdp.exe'));
    expect(page.status).toBe(404);
    expect(page.body).toContain('<h1>Not found</h1>');
    expect(page.body).toContain('No &#60;b&#62;such&#60;/b&#62; link <mark class="ctl">U+202E</mark>fdp.exe');
    expect(page.body).not.toContain('\u202E');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  });
});
