import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { findFreePort } from './find-free-port.ts';
import { spawnChild } from './spawn-child.ts';
import type { Target } from './target.ts';
import { toolCall } from './tool-call.ts';

const readyTimeoutMs = 30_000;

/**
 * The "peer" of S13 (BENCHMARKS.md): `@ivotoby/openapi-mcp-server` (a devDependency) over its Streamable HTTP
 * transport on 127.0.0.1, pointed at the fake upstream with the bench's description, the upstream key in its
 * `API_HEADERS`. It is session-based and answers `tools/call` on the session stream, so only a real MCP client
 * can drive it. Waits until an SDK client can connect, finds the tool it made of `getItem` and checks one call.
 * Never throws: a peer that does not start or answer comes back with `unavailable` set.
 */
export async function startPeer(repoRoot: string, upstream: { port: number; key: string }): Promise<Target> {
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const target: Target = { name: 'peer', url, method: 'POST', headers: {}, note: '@ivotoby/openapi-mcp-server' };
  const child = spawnChild(
    'peer',
    process.execPath,
    [join(repoRoot, 'node_modules/@ivotoby/openapi-mcp-server/bin/mcp-server.js')],
    {
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        TRANSPORT_TYPE: 'http',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: String(port),
        API_BASE_URL: `http://127.0.0.1:${upstream.port}`,
        OPENAPI_SPEC_PATH: join(repoRoot, 'bench/fixtures/upstream.openapi.yaml'),
        API_HEADERS: `X-API-Key:${upstream.key}`,
        VERBOSE: 'false',
      },
      cwd: repoRoot,
    },
  );
  const deadline = Date.now() + readyTimeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      target.unavailable = `exited during start-up: ${child.stderrTail().slice(-300)}`;
      return target;
    }
    const client = new Client({ name: 'gatehouse-bench-check', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      const tool = tools.find((t) => t.name.toLowerCase().replaceAll(/[^a-z]/g, '') === 'getitem');
      if (tool === undefined) throw new Error(`no getItem tool among ${tools.map((t) => t.name).join(', ')}`);
      const result = await client.callTool({ name: tool.name, arguments: { id: toolCall.itemId } });
      if (result.isError === true || !JSON.stringify(result.content).includes(toolCall.itemId)) {
        throw new Error(`check call answered ${JSON.stringify(result).slice(0, 200)}`);
      }
      target.tool = tool.name;
      target.pid = child.process.pid;
      return target;
    } catch (error) {
      lastError = (error as Error).message;
    } finally {
      await client.close().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await child.stop();
  target.unavailable = `not ready within ${readyTimeoutMs} ms: ${lastError}`;
  return target;
}
