import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { findFreePort } from './find-free-port.ts';
import { createOAuthAccessToken } from './oauth-access-token.ts';
import { spawnChild } from './spawn-child.ts';
import type { Target } from './target.ts';
import { toolCall } from './tool-call.ts';

const readyTimeoutMs = 30_000;

/**
 * Starts the real product as `node bin/gatehouse.js serve --config <generated yaml>` in a fresh temp dir (SQLite
 * store, random client key and master key) fronting the fake upstream, and waits until `GET /healthz` answers
 * 200. Never throws: when the CLI does not exist yet, exits or never gets ready, the target comes back with
 * `unavailable` set to the reason, so the other targets still run. `cleanup()` removes the temp dir (the
 * process itself is stopped with the other children).
 */
export async function startGatehouse(
  repoRoot: string,
  upstream: { port: number; key: string },
  nodeArgs: readonly string[] = [],
  /** Top-level config keys replacing the generated ones; a function gets the run's client key (to configure it). */
  settings: Readonly<Record<string, unknown>> | ((clientKey: string) => Readonly<Record<string, unknown>>) = {},
): Promise<{ target: Target; oauthTarget: Target; cleanup: () => void }> {
  const url = 'http://127.0.0.1:0/mcp/bench/api';
  const unavailable = (reason: string): { target: Target; oauthTarget: Target; cleanup: () => void } => ({
    target: { name: 'gatehouse', url, method: 'POST', headers: {}, unavailable: reason },
    oauthTarget: { name: 'gatehouse-oauth', url, method: 'POST', headers: {}, unavailable: reason },
    cleanup: () => {},
  });
  if (!existsSync(join(repoRoot, 'src/main.ts')) && !existsSync(join(repoRoot, 'dist/main.js'))) {
    return unavailable('src/main.ts does not exist yet');
  }

  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const port = await findFreePort();
  const clientKey = createClientKey();
  const adminToken = randomBytes(24).toString('base64url');
  const configPath = join(dir, 'gatehouse.yaml');
  const extra = typeof settings === 'function' ? settings(clientKey) : settings;
  writeFileSync(
    configPath,
    stringify({ ...createConfig({ dir, port, repoRoot, upstream, clientKey, adminToken }), ...extra }),
    {
      mode: 0o600,
    },
  );

  // Only the variables a Node process needs: an inherited GATEHOUSE_* (store, listen...) must not bend the run.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  const entry = await productEntry(repoRoot);
  const child = spawnChild('gatehouse', process.execPath, [...nodeArgs, entry.path, 'serve', '--config', configPath], {
    env,
    cwd: repoRoot,
  });
  const origin = `http://127.0.0.1:${port}`;
  const ready = await waitForHealth(origin, () => child.process.exitCode !== null || child.process.signalCode !== null);
  if (ready !== true) {
    await child.stop();
    cleanup();
    return unavailable(`${ready}: ${summarizeOutput(child.stderrTail())}`);
  }
  const target: Target = {
    name: 'gatehouse',
    url: `${origin}/mcp/bench/api`,
    method: 'POST',
    headers: { ...toolCall.headers, authorization: `Bearer ${clientKey}` },
    body: toolCall.body,
    pid: child.process.pid,
    note: entry.note,
  };
  // The same process and call, authenticated by an OAuth access token instead of the client key.
  let oauthTarget: Target;
  try {
    const accessToken = await createOAuthAccessToken({ origin, tenant: 'bench', toolset: 'api', adminToken });
    oauthTarget = {
      ...target,
      name: 'gatehouse-oauth',
      headers: { ...target.headers, authorization: `Bearer ${accessToken}` },
    };
  } catch (error) {
    oauthTarget = { ...target, name: 'gatehouse-oauth', unavailable: `no access token: ${(error as Error).message}` };
  }
  return { target, oauthTarget, cleanup };
}

function createConfig(input: {
  dir: string;
  port: number;
  repoRoot: string;
  upstream: { port: number; key: string };
  clientKey: string;
  adminToken: string;
}): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${input.port}`,
    publicUrl: `http://127.0.0.1:${input.port}`,
    adminToken: input.adminToken,
    store: `sqlite:${join(input.dir, 'gatehouse.db')}`,
    dataDir: input.dir,
    logLevel: 'warn',
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'bench',
        services: [
          {
            id: 'upstream',
            openapi: join(input.repoRoot, 'bench/fixtures/upstream.openapi.yaml'),
            baseUrl: `http://127.0.0.1:${input.upstream.port}`,
            auth: { type: 'apiKey', in: 'header', name: 'X-API-Key', value: input.upstream.key },
          },
        ],
        // Client keys and OAuth access tokens both: S1/S2 measure each (targets gatehouse, gatehouse-oauth).
        toolsets: [{ id: 'api', tools: ['upstream_*'], access: 'read', inbound: ['keys', 'oauth'] }],
        clientKeys: [{ name: 'bench', key: input.clientKey, toolsets: ['api'] }],
        // One token lasts the whole run.
        oauthServer: { accessTokenTtlSeconds: 86_400 },
      },
    ],
  };
}

/** One build per checkout and process: a second target of the same checkout must not delete the first's files. */
const builds = new Map<string, Promise<{ path: string; note: string }>>();

/** The entry point to run the product of `repoRoot` with plain node (built once per checkout and process). */
export function productEntry(repoRoot: string): Promise<{ path: string; note: string }> {
  let build = builds.get(repoRoot);
  if (build === undefined) {
    build = buildProduct(repoRoot);
    builds.set(repoRoot, build);
  }
  return build;
}

/**
 * The product is measured as it ships: compiled by `tsc -p tsconfig.build.json` (what `npm run build` does) into
 * bench/results/build (git-ignored, so the working tree's dist/ is never touched), run with plain node. Running
 * the TypeScript sources through tsx instead costs noticeably more CPU per request (its transform wraps every
 * closure created at run time in a naming helper). tsc also emits when other files have type errors; only when no
 * main.js comes out does the target fall back to tsx, and says so in its note.
 */
async function buildProduct(repoRoot: string): Promise<{ path: string; note: string }> {
  const outDir = join(repoRoot, 'bench/results/build');
  rmSync(outDir, { recursive: true, force: true });
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
      cwd: repoRoot,
      timeout: 120_000,
    });
  } catch {
    // Type errors elsewhere in the tree: the emitted files are still usable.
  }
  const main = join(outDir, 'main.js');
  if (existsSync(main)) return { path: main, note: 'built with tsc' };
  return { path: 'bin/gatehouse.js', note: 'tsc emitted nothing: TypeScript sources through tsx' };
}

/** `gatehouse_sk_` followed by 28 base62 characters: 40 in all. */
export function createClientKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(28);
  let key = 'gatehouse_sk_';
  for (const byte of bytes) key += alphabet[byte % alphabet.length];
  return key;
}

/** Polls `GET /healthz` every 100 ms; true when it answered 200, else the reason it never did. */
export async function waitForHealth(
  origin: string,
  hasExited: () => boolean,
  timeoutMs = readyTimeoutMs,
): Promise<true | string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) return 'gatehouse exited during start-up';
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `GET /healthz did not answer 200 within ${timeoutMs} ms`;
}

/** The lines of a crash worth showing on one line: those naming an error, else the last three; no stack frames. */
export function summarizeOutput(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at ') && line !== '}' && !line.startsWith('Node.js v'));
  const errors = lines.filter((line) => /error/i.test(line));
  return (errors.length > 0 ? errors.slice(0, 2) : lines.slice(-3)).join(' / ').slice(0, 400) || '(no output)';
}
