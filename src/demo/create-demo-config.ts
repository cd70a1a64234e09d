import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoApiDescription } from './demo-api-description.ts';
import type { DemoApi } from './start-demo-api.ts';

/**
 * The demo tenant's configuration tree (validated by the config module like any file): one service, the demo
 * tasks API, with its key in the vault; a read-write `assistant` toolset whose deletes need approval; and a
 * `readonly` toolset. The client key, an admin token (for the admin API, when the config has none) and the demo
 * user's password are created once and kept in the data folder (0600) so they survive restarts.
 */
function readOrCreateSecret(path: string, create: () => string): string {
  if (!existsSync(path)) writeFileSync(path, `${create()}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

export function createDemoConfig(dataDir: string, api: DemoApi, createClientKey: () => string) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const descriptionPath = join(dataDir, 'demo-api.openapi.yaml');
  writeFileSync(descriptionPath, demoApiDescription);
  const clientKey = readOrCreateSecret(join(dataDir, 'demo-client-key'), createClientKey);
  const adminToken = readOrCreateSecret(
    join(dataDir, 'demo-admin-token'),
    () => `demo_admin_${randomBytes(24).toString('base64url')}`,
  );
  // The demo user's password, kept like the key: `npm start` prints it, and it works again after a restart.
  const userPassword = readOrCreateSecret(join(dataDir, 'demo-user-password'), () =>
    randomBytes(15).toString('base64url'),
  );
  return {
    clientKey,
    adminToken,
    user: { name: 'demo', password: userPassword },
    tenant: {
      id: 'demo',
      services: [
        {
          id: 'tasks',
          openapi: descriptionPath,
          baseUrl: api.url,
          auth: { type: 'apiKey', in: 'header', name: 'X-Demo-Key', value: api.apiKey },
        },
      ],
      toolsets: [
        { id: 'assistant', tools: ['tasks_*'], access: 'write', approval: 'destructive' },
        { id: 'readonly', tools: ['tasks_*'], access: 'read' },
      ],
      clientKeys: [{ name: 'demo-agent', key: clientKey, toolsets: ['assistant', 'readonly'], subject: 'demo-user' }],
    },
  };
}
