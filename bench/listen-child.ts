import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Starts `server` on 127.0.0.1 port 0, prints the bound port as the first line of stdout (the contract every bench
 * child process keeps with `spawn-child.ts`) and exits when the parent goes away: its stdin pipe closing, SIGTERM
 * or SIGINT. Watching stdin means a child never outlives a killed harness.
 */
export async function listenChild(server: Server): Promise<number> {
  // Keep load-generator connections open across warm-up and rounds; the default 5 s would close idle ones.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${port}\n`);
  const exit = (): never => process.exit(0);
  process.stdin.on('end', exit);
  process.stdin.on('close', exit);
  process.stdin.resume();
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  return port;
}
