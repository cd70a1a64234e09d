/**
 * Try Gatehouse's OAuth connect flow without any cloud account: starts, on loopback,
 * - an OAuth 2 / OpenID authorization server (`oidc-provider`, the certified server the test suite uses; its
 *   development login page accepts any user name and password) on 127.0.0.1:9400, and
 * - a small notes API on 127.0.0.1:9401 that accepts only access tokens of that server, with the scopes
 *   `notes:read` (GET /notes) and `notes:write` (POST /notes).
 * Then serve `gatehouse.yaml` beside this file and connect an account (README.md here).
 *
 *   npx tsx examples/oauth-local/start.ts
 */
import { createServer } from 'node:http';
import { startOidcProvider } from '../../test/support/start-oidc-provider.ts';

const authorizationServerPort = Number(process.env['EXAMPLE_AS_PORT'] ?? 9400);
const apiPort = Number(process.env['EXAMPLE_API_PORT'] ?? 9401);
const gatehouseUrl = process.env['EXAMPLE_GATEHOUSE_URL'] ?? 'http://127.0.0.1:8787';
const resource = `http://127.0.0.1:${apiPort}/`;

const authorizationServer = await startOidcProvider({
  port: authorizationServerPort,
  clientId: 'gatehouse-example',
  clientSecret: 'example-client-secret-local-only',
  redirectUris: [`${gatehouseUrl}/oauth/callback`],
  resource,
  resourceScopes: ['notes:read', 'notes:write'],
  accessTokenTtl: 300,
});

const notes = new Map<string, { id: number; text: string; at: string }[]>();
const api = createServer(async (req, res) => {
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  const grant = token === undefined ? { active: false } : await authorizationServer.checkAccessToken(token);
  if (!grant.active) {
    send(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  const scopes = new Set((grant.scope ?? '').split(' '));
  const mine = notes.get(grant.subject ?? '') ?? [];
  const path = new URL(req.url ?? '/', resource).pathname;
  if (path === '/notes' && req.method === 'GET') {
    if (!scopes.has('notes:read')) return send(403, { error: 'insufficient_scope', scope: 'notes:read' });
    return send(200, { owner: grant.subject, notes: mine });
  }
  if (path === '/notes' && req.method === 'POST') {
    if (!scopes.has('notes:write')) return send(403, { error: 'insufficient_scope', scope: 'notes:write' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = (JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { text?: unknown }).text;
    if (typeof text !== 'string') return send(400, { error: 'text (a string) is required' });
    const note = { id: mine.length + 1, text, at: new Date().toISOString() };
    notes.set(grant.subject ?? '', [...mine, note]);
    return send(201, note);
  }
  send(404, { error: `no route ${req.method} ${path}` });
});
await new Promise<void>((resolve) => api.listen(apiPort, '127.0.0.1', resolve));

console.log(`Authorization server: ${authorizationServer.issuer} (any user name and password signs in)
Notes API:            http://127.0.0.1:${apiPort}/notes
Gatehouse callback:   ${gatehouseUrl}/oauth/callback (the only redirect URI accepted; EXAMPLE_GATEHOUSE_URL changes it)

Next, in another terminal from the repository's folder:
  npm run gatehouse -- serve --config examples/oauth-local/gatehouse.yaml
Press Ctrl+C to stop.`);

const stop = async () => {
  api.close();
  await authorizationServer.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
