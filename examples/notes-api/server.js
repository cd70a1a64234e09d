#!/usr/bin/env node
// A tiny notes API for the README's "Running your own APIs" (no dependencies, data in memory).
// Listens on 127.0.0.1:$PORT (default 4010); every request needs the header X-API-Key: $NOTES_API_KEY.
import { createServer } from 'node:http';

const apiKey = process.env.NOTES_API_KEY;
if (!apiKey) {
  process.stderr.write('notes-api: set NOTES_API_KEY (the key Gatehouse will send)\n');
  process.exit(2);
}
const notes = new Map([['1', { id: '1', text: 'Try Gatehouse with your own API', tag: 'todo' }]]);
let nextId = 2;

const send = (res, status, body) => {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};

const server = createServer(async (req, res) => {
  if (req.headers['x-api-key'] !== apiKey) return send(res, 401, { error: 'missing or wrong X-API-Key' });
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, collection, id] = url.pathname.split('/');
  if (collection !== 'notes') return send(res, 404, { error: 'not found' });
  if (id === undefined && req.method === 'GET') {
    const tag = url.searchParams.get('tag');
    return send(
      res,
      200,
      [...notes.values()].reverse().filter((n) => tag === null || n.tag === tag),
    );
  }
  if (id === undefined && req.method === 'POST') {
    let text = '';
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text || '{}');
    const note = { id: String(nextId++), text: String(body.text ?? ''), tag: body.tag };
    notes.set(note.id, note);
    return send(res, 201, note);
  }
  const note = id === undefined ? undefined : notes.get(id);
  if (note === undefined) return send(res, 404, { error: `no note ${id}` });
  if (req.method === 'GET') return send(res, 200, note);
  if (req.method === 'DELETE') {
    notes.delete(note.id);
    return send(res, 204);
  }
  return send(res, 405, { error: 'method not allowed' });
});

const port = Number(process.env.PORT ?? 4010);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`Notes API on http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
