import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, systemClock } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';

/**
 * A remote MCP server whose listing fails is reported in the operator's log (tenant, service, why), not only as
 * `degraded` in /readyz: before, the gateway's hook for it was wired to nothing, and nothing was logged.
 */
let adapters: Awaited<ReturnType<typeof openAdapters>> | undefined;
let server: Awaited<ReturnType<typeof startGatehouse>> | undefined;
afterAll(async () => {
  await server?.close();
  await adapters?.close();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('federated listing failures in the log', () => {
  it('federated_listing_failure_not_logged: a listing that fails writes a warning naming the tenant and service', async () => {
    const lines: Record<string, unknown>[] = [];
    const config = parseConfig(
      {
        listen: '127.0.0.1:0',
        dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-federation-log-')),
        logLevel: 'info',
        logFormat: 'json',
        masterKey: randomBytes(32).toString('base64'),
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'linear', mcp: `http://127.0.0.1:${await closedPort()}/mcp` }],
            toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
            clientKeys: [{ name: 'agent', key: 'gatehouse_sk_federation_log_0123456789ab', toolsets: ['all'] }],
          },
        ],
      },
      { env: {}, baseDir: process.cwd() },
    );
    adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
    server = await startGatehouse(config, adapters, systemClock, {
      logDestination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const deadline = Date.now() + 10_000;
    const failed = () => lines.find((line) => line['service'] === 'linear' && line['level'] === 'warn');
    while (failed() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failed()).toMatchObject({ tenant: 'acme', service: 'linear' });
    expect(String(failed()?.['msg'])).toMatch(/listing failed/);
    expect(JSON.stringify(failed())).toMatch(/cannot be reached|ECONNREFUSED|refused/i);
  });
});
