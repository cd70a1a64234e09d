import { randomBytes } from 'node:crypto';
import { startGatehouse } from './gatehouse-target.ts';
import { startPeer } from './peer-target.ts';
import { readPort, spawnChild } from './spawn-child.ts';
import type { Target } from './target.ts';
import { checkToolCall, toolCall } from './tool-call.ts';

/** Starts bench/fake-upstream.ts as its own process with a random API key. */
export async function startFakeUpstream(repoRoot: string): Promise<{ url: string; port: number; key: string }> {
  const key = randomBytes(18).toString('base64url');
  const upstream = spawnChild('fake-upstream', process.execPath, ['--import', 'tsx', 'bench/fake-upstream.ts'], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], BENCH_UPSTREAM_KEY: key },
    cwd: repoRoot,
  });
  const port = await readPort(upstream);
  return { url: `http://127.0.0.1:${port}`, port, key };
}

/**
 * Starts the fake upstream and every target process (raw, sdk, gatehouse, and with `peer` the S13 peer; direct
 * needs none), then sends each one checked `tools/call`. A target that fails to start or to answer correctly comes back with `unavailable` set;
 * only a failing upstream throws. The caller stops the processes with `stopChildren()` and then calls `cleanup`.
 */
export async function startTargets(
  repoRoot: string,
  options: { peer?: boolean } = {},
): Promise<{ targets: Target[]; cleanup: () => void }> {
  const { url: upstreamUrl, port: upstreamPort, key: upstreamKey } = await startFakeUpstream(repoRoot);
  const nodeEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], BENCH_UPSTREAM_KEY: upstreamKey };
  const direct: Target = {
    name: 'direct',
    url: `${upstreamUrl}/items/${toolCall.itemId}`,
    method: 'GET',
    headers: { 'x-api-key': upstreamKey, accept: 'application/json' },
  };

  const startBaseline = async (name: 'raw' | 'sdk'): Promise<Target> => {
    const child = spawnChild(name, process.execPath, ['--import', 'tsx', `bench/${name}-server.ts`], {
      env: { ...nodeEnv, BENCH_UPSTREAM_URL: upstreamUrl },
      cwd: repoRoot,
    });
    const target: Target = { name, url: '', method: 'POST', headers: { ...toolCall.headers }, body: toolCall.body };
    try {
      target.url = `http://127.0.0.1:${await readPort(child)}/mcp`;
      target.pid = child.process.pid;
    } catch (error) {
      target.unavailable = (error as Error).message;
    }
    return target;
  };
  const [raw, sdk, gatehouse, peer] = await Promise.all([
    startBaseline('raw'),
    startBaseline('sdk'),
    startGatehouse(repoRoot, { port: upstreamPort, key: upstreamKey }),
    options.peer ? startPeer(repoRoot, { port: upstreamPort, key: upstreamKey }) : undefined,
  ]);
  const targets = [direct, raw, sdk, gatehouse.target, gatehouse.oauthTarget, ...(peer ? [peer] : [])];
  for (const target of targets) {
    // The peer answers only a real client; startPeer has checked it with one.
    if (target.unavailable || target.name === 'peer') continue;
    try {
      await checkToolCall(target);
    } catch (error) {
      if (target.name === 'direct') throw new Error(`fake upstream answered wrongly: ${(error as Error).message}`);
      target.unavailable = `check call failed: ${(error as Error).message}`;
    }
  }
  return { targets, cleanup: gatehouse.cleanup };
}
