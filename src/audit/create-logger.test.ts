import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { createLogger } from './create-logger.ts';
import { createSecretRegistry } from './create-secret-registry.ts';

function capture() {
  const lines: string[] = [];
  const text = () => lines.join('');
  return { lines, text, destination: { write: (line: string) => lines.push(line) } };
}

describe('createLogger', () => {
  it('LG-07 CR/LF in a logged value cannot forge a log line', () => {
    const sink = capture();
    const logger = createLogger({ level: 'trace', destination: sink.destination, secrets: createSecretRegistry() });
    const forged = 'x"}\n{"level":"error","msg":"forged"}\r\n{"level":"fatal"';
    logger.info({ args: { name: forged } }, forged);
    logger.warn(`message with ${forged}`);
    const records = sink.text().split('\n').filter(Boolean);
    expect(records).toHaveLength(2);
    for (const record of records) expect(() => JSON.parse(record)).not.toThrow();
    expect((JSON.parse(records[0] as string) as { args: { name: string } }).args.name).toBe(forged);
  });

  it('LG-05/06 a secret twice in one string, or containing " or \\, is redacted everywhere', () => {
    const secrets = createSecretRegistry();
    const quoted = 'sk"live\\9f8e7d6c5b4a3';
    const plain = 'tok_0123456789abcdefXYZ';
    secrets.register(quoted);
    secrets.register(plain);
    const sink = capture();
    const logger = createLogger({ level: 'trace', destination: sink.destination, secrets });
    logger.info({ note: `${plain} and again ${plain}`, nested: { deep: [quoted, JSON.stringify({ quoted })] } }, plain);
    logger.info(`message ${quoted} ${quoted}`);
    logger.error({ err: new Error(`failed with ${plain}`) }, 'upstream failed');
    const text = sink.text();
    for (const secret of [quoted, plain]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(text).not.toContain(JSON.stringify(JSON.stringify(secret)).slice(1, -1));
    }
    expect(text.split('[REDACTED]').length - 1).toBeGreaterThanOrEqual(8);
    for (const line of sink.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('LG-02 an outbound error object carrying request headers is logged as a safe error', () => {
    const sink = capture();
    const logger = createLogger({ level: 'trace', destination: sink.destination, secrets: createSecretRegistry() });
    const error = Object.assign(new Error('Request failed'), {
      code: 'UND_ERR_SOCKET',
      request: { headers: { Authorization: 'Bearer not-registered-1234567890' } },
      config: { headers: [['X-Api-Key', 'unregistered-key-0987654321']] },
      response: { body: 'echo not-registered-1234567890' },
    });
    logger.error({ err: error }, 'call failed');
    logger.error(error);
    logger.warn({ err: new GatehouseError('upstream_timeout', 'Call timed out', { origin: 'http://x' }) }, 'timeout');
    const text = sink.text();
    expect(text).not.toContain('not-registered-1234567890');
    expect(text).not.toContain('unregistered-key-0987654321');
    const first = JSON.parse(sink.lines[0] as string) as { err: Record<string, unknown> };
    expect(Object.keys(first.err).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect((JSON.parse(sink.lines[2] as string) as { err: { code: string } }).err.code).toBe('upstream_timeout');
  });

  it('redacts credential fields by name in any case and credential query parameters in any URL', () => {
    const sink = capture();
    const logger = createLogger({ level: 'trace', destination: sink.destination, secrets: createSecretRegistry() });
    logger.debug(
      {
        headers: { AUTHORIZATION: 'Bearer aaa111', 'Proxy-Authorization': 'b', COOKIE: 'c=1', 'x-API-key': 'k' },
        options: { client_secret: 'cs', Password: 'pw' },
        url: 'https://api.example.com/cb?code=authcode123&state=st&page=2',
        text: 'see https://x.example/?ACCESS_TOKEN=tok456&a=1',
      },
      'outbound',
    );
    const record = JSON.parse(sink.lines[0] as string) as Record<string, Record<string, string> | string>;
    expect(record['headers']).toEqual({
      AUTHORIZATION: '[REDACTED]',
      'Proxy-Authorization': '[REDACTED]',
      COOKIE: '[REDACTED]',
      'x-API-key': '[REDACTED]',
    });
    expect(record['options']).toEqual({ client_secret: '[REDACTED]', Password: '[REDACTED]' });
    expect(record['url']).toBe('https://api.example.com/cb?code=[REDACTED]&state=[REDACTED]&page=2');
    expect(record['text']).toBe('see https://x.example/?ACCESS_TOKEN=[REDACTED]&a=1');
  });

  it('LG-03 request logs redact inbound AUTHORIZATION (any case) and ?access_token= values', async () => {
    const { createHttpApp } = await import('../http/index.ts');
    const sink = capture();
    const logger = createLogger({ level: 'trace', destination: sink.destination, secrets: createSecretRegistry() });
    const gateway = { ready: async () => true } as never;
    const app = createHttpApp({ gateway, publicUrl: 'http://127.0.0.1', logger });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/healthz?access_token=inbound-token-secret-1&Access_Token=inbound-token-secret-2&x=1',
            headers: { AUTHORIZATION: 'Bearer inbound-bearer-secret-3', cookie: 'sid=inbound-cookie-4' },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      server.close();
    }
    const text = sink.text();
    for (const secret of [
      'inbound-token-secret-1',
      'inbound-token-secret-2',
      'inbound-bearer-secret-3',
      'inbound-cookie-4',
    ])
      expect(text).not.toContain(secret);
    const requestLine = sink.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r['msg'] === 'request');
    expect(requestLine).toMatchObject({
      method: 'GET',
      path: '/healthz?access_token=[REDACTED]&Access_Token=[REDACTED]&x=1',
      status: 200,
    });
    expect(typeof requestLine?.['requestId']).toBe('string');
    expect(typeof requestLine?.['latencyMs']).toBe('number');
  });

  it('the request line of a refused MCP request says why: code and RFC 6750 reason', async () => {
    const { createHttpApp } = await import('../http/index.ts');
    const { createFakeGateway } = await import('../mcp/_fake-gateway.ts');
    const sink = capture();
    const logger = createLogger({ level: 'info', destination: sink.destination, secrets: createSecretRegistry() });
    const app = createHttpApp({ gateway: createFakeGateway(), publicUrl: 'http://127.0.0.1', logger });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const post = (authorization?: string) =>
      fetch(`http://127.0.0.1:${port}/mcp/t/s`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      }).then((response) => response.text());
    try {
      await post('Bearer not-a-key-0123456789');
      await post();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      server.close();
    }
    const lines = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['msg'] === 'request');
    expect(lines.map((line) => [line['status'], line['code'], line['reason']])).toEqual([
      [401, 'unauthenticated', 'invalid_token'],
      [401, 'unauthenticated', 'no_credentials'],
    ]);
    expect(sink.text()).not.toContain('not-a-key-0123456789');
  });
});
