import type { IncomingMessage, ServerResponse } from 'node:http';

/** The whole body of a request to one of the bench's baseline servers (raw, relay). */
export function readRequestBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answers with `body` whole, its type and length in the head (one write, as a lean server does). */
export function sendBody(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': type, 'content-length': payload.length });
  res.end(payload);
}
