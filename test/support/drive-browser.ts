/**
 * A minimal browser for the connect flow: follows redirects by hand, keeps cookies per host (like a browser,
 * ports are not separated), and submits the first form of a page with its hidden inputs plus given fields.
 */
export interface Browser {
  /** Every URL visited, in order. */
  readonly visited: string[];
  /** GETs `url` and follows redirects (at most 20). */
  open(url: string): Promise<BrowserPage>;
  /** Submits the page's first form (POST) with extra fields, then follows redirects. */
  submit(page: BrowserPage, fields?: Record<string, string>): Promise<BrowserPage>;
  cookieHeader(url: string): string;
}

export interface BrowserPage {
  readonly url: string;
  readonly status: number;
  readonly html: string;
}

export function createBrowser(): Browser {
  const jars = new Map<string, Map<string, string>>();
  const visited: string[] = [];

  function jarOf(url: string): Map<string, string> {
    const host = new URL(url).hostname;
    let jar = jars.get(host);
    if (jar === undefined) {
      jar = new Map();
      jars.set(host, jar);
    }
    return jar;
  }

  function cookieHeader(url: string): string {
    return [...jarOf(url)].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  function store(url: string, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === '') jarOf(url).delete(name);
      else jarOf(url).set(name, value);
    }
  }

  async function follow(url: string, init: RequestInit): Promise<BrowserPage> {
    let current = url;
    let request = init;
    for (let hop = 0; hop < 20; hop++) {
      visited.push(current);
      const response = await fetch(current, {
        ...request,
        redirect: 'manual',
        headers: { ...(request.headers as Record<string, string>), cookie: cookieHeader(current) },
      });
      store(current, response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        current = new URL(location, current).href;
        request = { method: 'GET' };
        continue;
      }
      return { url: current, status: response.status, html: await response.text() };
    }
    throw new Error('too many redirects');
  }

  return {
    visited,
    cookieHeader,
    open: (url) => follow(url, { method: 'GET' }),
    submit(page, fields = {}) {
      const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.html);
      if (form === null) throw new Error(`no form on ${page.url}`);
      const body = new URLSearchParams();
      for (const input of (form[2] ?? '').matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
        const name = /name="([^"]*)"/.exec(input[0])?.[1];
        const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
        if (name !== undefined) body.set(name, value);
      }
      for (const [name, value] of Object.entries(fields)) body.set(name, value);
      const action = new URL((form[1] ?? '').replaceAll('&amp;', '&'), page.url).href;
      return follow(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
    },
  };
}
