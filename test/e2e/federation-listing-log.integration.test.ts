import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, systemClock } from '../../src/core/index.ts';
import { openAdapters } from '../../src/open-adapters.ts';
import { startGatehouse } from '../../src/wiring/index.ts';
import { freePort as closedPort } from '../support/free-port.ts';
import { startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';

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

/** Starts a gateway whose one `mcp:` service points at a closed port; returns its raw log lines as they come. */
async function startWithUnreachableServer(mcpUrl?: string): Promise<string[]> {
  const raw: string[] = [];
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
          services: [{ id: 'linear', mcp: mcpUrl ?? `http://127.0.0.1:${await closedPort()}/mcp` }],
          toolsets: [{ id: 'all', tools: ['*'], access: 'read' }],
          clientKeys: [{ name: 'agent', key: 'gatehouse_sk_federation_log_0123456789ab', toolsets: ['all'] }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  server = await startGatehouse(config, adapters, systemClock, {
    logDestination: { write: (line: string) => raw.push(line) },
  });
  return raw;
}

describe('federated listing failures in the log', () => {
  it('federated_listing_failure_not_logged: a listing that fails writes a warning naming the tenant and service', async () => {
    const raw = await startWithUnreachableServer();
    const deadline = Date.now() + 10_000;
    const failed = () =>
      raw
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line['level'] === 'warn' && String(line['msg']).includes('listing failed'));
    while (failed() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failed()).toMatchObject({ tenant: 'acme', serviceId: 'linear' });
    expect(JSON.stringify(failed())).toMatch(/cannot be reached|ECONNREFUSED|refused/i);
  });

  it('federated_log_service_key_duplicated: the warning holds one "service" key (the process\'s) and names the failed service under its own', async () => {
    await server?.close();
    await adapters?.close();
    const raw = await startWithUnreachableServer();
    const deadline = Date.now() + 10_000;
    const failed = () => raw.find((line) => line.includes('listing failed'));
    while (failed() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const line = failed() as string;
    // Before: {"service":"gatehouse",...,"service":"linear"}: a duplicate key, which log shippers resolve either way,
    // and the pretty format (which hides `service`) dropped the failed service's name altogether.
    expect(line.match(/"service":/g)).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ service: 'gatehouse', tenant: 'acme', serviceId: 'linear' });
  });

  it('federated_tool_skipped_silently: tools a listing skips (an invalid name, a name another maps to) are named in a warning', async () => {
    await server?.close();
    await adapters?.close();
    const answer = () => ({ content: [{ type: 'text', text: 'ok' }] });
    const remote = await startLegacyMcpUpstream(
      [
        { name: 'search.issues', inputSchema: { type: 'object' }, call: answer },
        { name: 'search_issues', inputSchema: { type: 'object' }, call: answer },
        { name: 'list', inputSchema: { type: 'object' }, call: answer },
      ],
      undefined,
      10,
    );
    try {
      const raw = await startWithUnreachableServer(remote.url);
      const deadline = Date.now() + 10_000;
      const skipped = () => raw.find((line) => line.includes('search_issues') && line.includes('"level":"warn"'));
      while (skipped() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      // Before: the second tool vanished from every toolset and nothing anywhere said so.
      expect(skipped()).toBeDefined();
      expect(JSON.parse(skipped() as string)).toMatchObject({ tenant: 'acme', serviceId: 'linear' });
    } finally {
      await server?.close();
      server = undefined;
      await remote.close();
    }
  });
});
