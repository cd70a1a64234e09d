import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedFetch } from '../auth-server/index.ts';
import { isGatehouseError } from '../core/index.ts';
import { createServiceDescriptions, storedDigestOf } from './service-descriptions.ts';

/**
 * Fetching a description by URL for the admin API (issue 14): through the SSRF guard, capped in size and time,
 * no redirect followed; each refusal names the field and says why. A real HTTP server on 127.0.0.1.
 */
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/small') return void res.writeHead(200).end('openapi: 3.0.3');
    if (req.url === '/large') return void res.writeHead(200).end('x'.repeat(5_000));
    if (req.url === '/streamed') {
      // No content-length: the cap is enforced while reading.
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1_000));
      return void res.end();
    }
    if (req.url === '/moved') return void res.writeHead(302, { location: '/small' }).end();
    // Far past the 0.5 s the slow case allows; the other cases allow 10 s, so a loaded machine times none out.
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 30_000).unref();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const descriptions = (allow: string[] = ['127.0.0.1'], fetchTimeoutMs = 10_000) =>
  createServiceDescriptions({
    store: { serviceDescriptions: { put: async () => {}, get: async () => undefined } },
    clock: { now: () => 0, monotonic: () => 0 },
    fetch: createGuardedFetch({ allowPrivateHosts: allow }),
    maxBytes: 4_000,
    fetchTimeoutMs,
  });

async function refusal(promise: Promise<unknown>): Promise<{ field: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isGatehouseError(error) && error.code === 'resource_invalid') {
      return { field: error.details['field'], message: error.message };
    }
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('fetching a description by URL', () => {
  it('reads a description within the caps', async () => {
    expect(await descriptions().fetchText(`${base}/small`)).toBe('openapi: 3.0.3');
  });

  it('refuses, naming the field and why: too large (declared or streamed), redirect, error status, slow, private', async () => {
    const cases: [string, RegExp, string[]?][] = [
      [`${base}/large`, /larger than 4000 bytes/],
      [`${base}/streamed`, /larger than 4000 bytes/],
      [`${base}/moved`, /302, a redirect/],
      [`${base}/missing`, /answered 404/],
      [`${base}/slow`, /no answer within 0.5 s/],
      [`${base}/small`, /could not be fetched/, []],
      ['ftp://127.0.0.1/x', /http or https/],
      ['not a url', /not a URL/],
    ];
    for (const [url, why, allow] of cases) {
      const timeoutMs = url.endsWith('/slow') ? 500 : undefined;
      const refused = await refusal(descriptions(allow, timeoutMs).fetchText(url, 'url'));
      expect(refused.field, url).toBe('url');
      expect(refused.message, url).toMatch(why);
    }
  });

  it('saves by content and names the stored description as stored:<sha256>', async () => {
    const reference = await descriptions().save('acme', 'openapi: 3.0.3', 'upload', 'admin');
    expect(storedDigestOf(reference)).toMatch(/^[0-9a-f]{64}$/);
    expect(storedDigestOf('./openapi.yaml')).toBeUndefined();
  });
});
