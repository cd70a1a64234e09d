import { request } from 'node:http';

/**
 * `fetch` from another loopback address (Linux routes all of 127.0.0.0/8 to `lo`): for tests that send more wrong
 * tokens than one address may (the admin API refuses an address after 30 a minute, finding admin_token_guessing),
 * so each address stays under its budget. Node's own `fetch` cannot choose its source address. Plain http only.
 */
export function fetchFromAddress(
  localAddress: string,
  url: string,
  init: { readonly method?: string; readonly headers?: Readonly<Record<string, string>>; readonly body?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const sent = request(url, { method: init.method ?? 'GET', localAddress, headers: { ...init.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
            headers.append(name, one);
        }
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers }));
      });
      res.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(init.body);
  });
}
