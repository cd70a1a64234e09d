import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from './free-port.ts';

/**
 * The pieces of a gateway fleet for the fault-injection suite (issue 13), each a real process on 127.0.0.1 that the
 * suite can break: a private Redis (restartable), a private PostgreSQL database on the shared server (its backends
 * can be terminated without touching other suites' connections), HAProxy from Debian's package in front, and
 * `gatehouse serve` processes (the real command). Nothing here restarts the shared PostgreSQL or Redis.
 */

const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Answers `+PONG` to `PING` on the port: the Redis server accepts commands. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface PrivateRedis {
  readonly url: string;
  /** Stops the server (SIGTERM, nothing kept on disk: every key is gone) and starts it again on the same port. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** A `redis-server` of this suite alone on a free port, keeping nothing on disk. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await until(`redis-server on ${port}`, () => redisAnswers(port), 20_000);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = exitOf(child);
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs) {
      await stop();
      await sleep(downMs);
      await start();
    },
    stop,
  };
}

export interface FleetDatabase {
  /** The store URL of the database. */
  readonly url: string;
  /** Terminates every backend connected to this database (what a PostgreSQL restart does to the fleet). */
  terminateBackends(): Promise<number>;
  drop(): Promise<void>;
}

/** A fresh database `gh_fleet_<hex>` on the PostgreSQL server of `adminUrl` (its other databases are untouched). */
export async function createFleetDatabase(adminUrl: string): Promise<FleetDatabase> {
  const name = `gh_fleet_${randomBytes(5).toString('hex')}`;
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl, application_name: 'gatehouse-fleet-test' });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  await admin((client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const terminate = () =>
    admin(async (client) => {
      const result = await client.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [name],
      );
      return result.rowCount ?? 0;
    });
  return {
    url: url.toString(),
    terminateBackends: terminate,
    async drop() {
      await terminate();
      await admin((client) => client.query(`drop database if exists ${name}`));
    },
  };
}

export interface Balancer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * HAProxy in front of `servers` (name -> port), configured as docs/operations.md describes: round robin, no
 * affinity, `/readyz` checked every second with a 5 s timeout (down after 2 failures), a request is re-sent to another server only
 * when its connection failed (never once it was sent), and every answer, HAProxy's own 502/503 included, names
 * the server in `x-gatehouse-backend` (so the suite can tell which process an error came from), and the client's
 * address is appended to `X-Forwarded-For` (`option forwardfor`; the gateways behind it set `trustedProxies`).
 */
export async function startHaproxy(dir: string, port: number, servers: ReadonlyMap<string, number>): Promise<Balancer> {
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    `global
  maxconn 4096

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # A busy process answers /readyz slowly: the check's own timeout (default: the interval) must not take it out.
  timeout check 5s
  retries 3
  option redispatch 1
  option http-server-close
  # Appends the client's address to X-Forwarded-For; the gateways list this balancer in trustedProxies.
  option forwardfor

frontend gatehouse
  bind 127.0.0.1:${port}
  default_backend gatehouse

backend gatehouse
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 2
  http-after-response set-header x-gatehouse-backend %s
${[...servers].map(([name, serverPort]) => `  server ${name} 127.0.0.1:${serverPort} check`).join('\n')}
`,
  );
  let output = '';
  const child = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    await until(
      'haproxy',
      async () => {
        if (child.exitCode !== null) throw new Error(`haproxy exited: ${output}`);
        return await listening(port);
      },
      20_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`haproxy did not start: ${output}`, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      const exited = exitOf(child);
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface GatewayProcess {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/**
 * Starts `gatehouse serve --config <config>` listening on `port` (the config reads `GATEHOUSE_LISTEN`) and waits
 * until its `/readyz` answers 200.
 */
export async function startGatewayProcess(options: {
  readonly name: string;
  readonly port: number;
  readonly cwd: string;
  readonly config: string;
  readonly env: Readonly<Record<string, string>>;
}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [bin, 'serve', '--config', options.config], {
    cwd: options.cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      GATEHOUSE_LISTEN: `127.0.0.1:${options.port}`,
      ...options.env,
    },
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    // The last 64 KB are enough to explain a failure; a long run must not grow the test's heap.
    text = (text + chunk.toString()).slice(-65_536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = exitOf(child);
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until(
    `gatehouse ${options.name}`,
    async () => {
      if (gone) throw new Error(`gatehouse ${options.name} exited:\n${text}`);
      return (
        (await fetch(`http://127.0.0.1:${options.port}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      );
    },
    // A cold start compiles the sources (tsx): about 20 s on a 2-core machine at load 20, more with three at once.
    180_000,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`gatehouse ${options.name} did not become ready:\n${text}`, { cause: error });
  });
  return { name: options.name, port: options.port, child, exited, output: () => text };
}
