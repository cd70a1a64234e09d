import { describe, expect, it } from 'vitest';
import type { HttpMethod, Tool, ToolParameter, ToolRequestBody } from '../core/index.ts';
import { buildRequest } from './build-request.ts';

type ParameterInput = Pick<ToolParameter, 'name' | 'in'> & Partial<ToolParameter>;

function parameterOf(input: ParameterInput): ToolParameter {
  const defaultStyle = input.in === 'path' || input.in === 'header' ? 'simple' : 'form';
  const style = input.style ?? defaultStyle;
  return {
    argument: input.name,
    required: input.in === 'path',
    style,
    explode: style === 'form' || style === 'deepObject',
    allowReserved: false,
    ...input,
  };
}

function toolOf(
  pathTemplate: string,
  parameters: ParameterInput[],
  options: { method?: HttpMethod; body?: ToolRequestBody } = {},
): Tool {
  return {
    key: 'op',
    operation: 'op',
    title: 'op',
    description: '',
    inputSchema: { type: 'object' },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    safety: 'safe',
    scopes: [],
    tags: [],
    request: {
      method: options.method ?? 'GET',
      pathTemplate,
      parameters: parameters.map(parameterOf),
      ...(options.body ? { body: options.body } : {}),
    },
  };
}

const base = 'https://api.example.com';
const primitive = 5;
const array = [3, 4, 5];
const object = { role: 'admin', firstName: 'Alex' };

function codeOf(run: () => unknown): { code: string; argument: unknown } | undefined {
  try {
    run();
  } catch (error) {
    const e = error as { code: string; details: Record<string, unknown> };
    return { code: e.code, argument: e.details['argument'] };
  }
  return undefined;
}

describe('buildRequest() path styles (OpenAPI 3 style table)', () => {
  const cases: [ToolParameter['style'], boolean, unknown, string][] = [
    ['simple', false, primitive, '5'],
    ['simple', false, array, '3,4,5'],
    ['simple', false, object, 'role,admin,firstName,Alex'],
    ['simple', true, array, '3,4,5'],
    ['simple', true, object, 'role=admin,firstName=Alex'],
    ['label', false, primitive, '.5'],
    ['label', false, array, '.3,4,5'],
    ['label', false, object, '.role,admin,firstName,Alex'],
    ['label', true, array, '.3.4.5'],
    ['label', true, object, '.role=admin.firstName=Alex'],
    ['matrix', false, primitive, ';id=5'],
    ['matrix', false, array, ';id=3,4,5'],
    ['matrix', false, object, ';id=role,admin,firstName,Alex'],
    ['matrix', true, array, ';id=3;id=4;id=5'],
    ['matrix', true, object, ';role=admin;firstName=Alex'],
    ['simple', false, true, 'true'],
  ];
  it.each(cases)('style %s explode %s with %j gives %s', (style, explode, value, want) => {
    const tool = toolOf('/items/{id}', [{ name: 'id', in: 'path', style, explode }]);
    expect(buildRequest(tool, base, { id: value }).url.pathname).toBe(`/items/${want}`);
  });
});

describe('buildRequest() query styles', () => {
  const cases: [ToolParameter['style'], boolean, unknown, string][] = [
    ['form', true, primitive, 'id=5'],
    ['form', true, array, 'id=3&id=4&id=5'],
    ['form', true, object, 'role=admin&firstName=Alex'],
    ['form', false, array, 'id=3,4,5'],
    ['form', false, object, 'id=role,admin,firstName,Alex'],
    ['form', false, [], 'id='],
    ['form', true, '', 'id='],
    ['spaceDelimited', false, array, 'id=3%204%205'],
    ['spaceDelimited', false, object, 'id=role%20admin%20firstName%20Alex'],
    ['spaceDelimited', true, array, 'id=3&id=4&id=5'],
    ['pipeDelimited', false, array, 'id=3%7C4%7C5'],
    ['pipeDelimited', false, object, 'id=role%7Cadmin%7CfirstName%7CAlex'],
    ['pipeDelimited', true, array, 'id=3&id=4&id=5'],
    ['deepObject', true, object, 'id[role]=admin&id[firstName]=Alex'],
    ['deepObject', true, { a: { b: 1 }, 'x]y': 'z' }, 'id[a][b]=1&id[x%5Dy]=z'],
    ['form', true, false, 'id=false'],
  ];
  it.each(cases)('style %s explode %s with %j gives %s', (style, explode, value, want) => {
    const tool = toolOf('/items', [{ name: 'id', in: 'query', style, explode }]);
    expect(buildRequest(tool, base, { id: value }).url.search).toBe(`?${want}`);
  });

  it('omits null and undefined optional parameters and keeps the order of the rest', () => {
    const tool = toolOf('/items', [
      { name: 'a', in: 'query' },
      { name: 'b', in: 'query' },
      { name: 'c', in: 'query' },
    ]);
    expect(buildRequest(tool, base, { a: null, c: 1 }).url.search).toBe('?c=1');
  });
});

describe('buildRequest() percent-encoding', () => {
  const cases: [string, string][] = [
    ['a/b', 'a%2Fb'],
    ['a b?c#d', 'a%20b%3Fc%23d'],
    ['100%', '100%25'],
    ['%2e%2e', '%252e%252e'],
    ['café ☕', 'caf%C3%A9%20%E2%98%95'],
    ['a;b=c,d&e', 'a%3Bb%3Dc%2Cd%26e'],
    ['..a', '..a'],
    ['\\evil', '%5Cevil'],
  ];
  it.each(cases)('path value %j becomes %s and stays one segment', (value, want) => {
    const tool = toolOf('/files/{name}/meta', [{ name: 'name', in: 'path' }]);
    const { url } = buildRequest(tool, base, { name: value });
    expect(url.pathname).toBe(`/files/${want}/meta`);
    expect(url.pathname.split('/')).toHaveLength(4);
  });

  it.each([['.'], ['..']])('path value %j is refused', (value) => {
    const tool = toolOf('/files/{name}/meta', [{ name: 'name', in: 'path' }]);
    expect(codeOf(() => buildRequest(tool, base, { name: value }))).toEqual({
      code: 'invalid_arguments',
      argument: 'name',
    });
  });

  it('keeps the base path, port and query; a ? or # in the template stays in the path', () => {
    const tool = toolOf('/p?x#y/{id}', [
      { name: 'id', in: 'path' },
      { name: 'q', in: 'query' },
    ]);
    const first = buildRequest(tool, 'http://127.0.0.1:8081/v1//?a=1#frag', { id: 'x?y', q: 'a b' });
    expect(first.url.href).toBe('http://127.0.0.1:8081/v1/p%3Fx%23y/x%3Fy?a=1&q=a%20b');
    const plain = toolOf('/pets/{id}', [{ name: 'id', in: 'path' }]);
    // The same base again (now parsed once and reused): a new URL object each call.
    const a = buildRequest(plain, 'http://127.0.0.1:8081/v1//?a=1#frag', { id: 'a b' });
    const b = buildRequest(plain, 'http://127.0.0.1:8081/v1//?a=1#frag', { id: 'c' });
    expect(a.url.href).toBe('http://127.0.0.1:8081/v1/pets/a%20b?a=1');
    expect(b.url.href).toBe('http://127.0.0.1:8081/v1/pets/c?a=1');
    expect(a.url).not.toBe(b.url);
  });

  it('an empty path value is refused (it would call a different route)', () => {
    const tool = toolOf('/users/{id}/delete', [{ name: 'id', in: 'path' }]);
    expect(codeOf(() => buildRequest(tool, base, { id: '' }))?.code).toBe('invalid_arguments');
  });

  const queryCases: [string, boolean, string][] = [
    ['a&api_key=x#frag', false, 'q=a%26api_key%3Dx%23frag'],
    ['café ☕', false, 'q=caf%C3%A9%20%E2%98%95'],
    ['a+b', false, 'q=a%2Bb'],
    ['http://x/y?z=1&w#f', true, 'q=http://x/y?z%3D1%26w%23f'],
    ['%41 [x]@$,;+', true, 'q=%41%20[x]@$,;+'],
  ];
  it.each(queryCases)('query value %j (allowReserved %s) becomes %s', (value, allowReserved, want) => {
    const tool = toolOf('/search', [{ name: 'q', in: 'query', allowReserved }]);
    expect(buildRequest(tool, base, { q: value }).url.search).toBe(`?${want}`);
  });
});

describe('buildRequest() base URL', () => {
  const cases: [string, string, string][] = [
    ['https://api.x.com/v1', '/pets', 'https://api.x.com/v1/pets'],
    ['https://api.x.com/v1/', '/pets', 'https://api.x.com/v1/pets'],
    ['https://api.x.com', '/pets', 'https://api.x.com/pets'],
    ['https://api.x.com/', 'pets', 'https://api.x.com/pets'],
    ['https://api.x.com/v1', '/', 'https://api.x.com/v1/'],
    ['https://api.x.com/v1?version=2', '/pets', 'https://api.x.com/v1/pets?version=2&limit=1'],
    ['http://127.0.0.1:8080/api#frag', '/pets', 'http://127.0.0.1:8080/api/pets'],
  ];
  it.each(cases)('%s + %s = %s', (baseUrl, template, want) => {
    const parameters: ParameterInput[] = baseUrl.includes('?') ? [{ name: 'limit', in: 'query' }] : [];
    expect(buildRequest(toolOf(template, parameters), baseUrl, { limit: 1 }).url.href).toBe(want);
  });

  it.each([['ftp://x.com'], ['https://user:pw@x.com'], ['not a url']])('base URL %s is refused', (baseUrl) => {
    expect(codeOf(() => buildRequest(toolOf('/x', []), baseUrl, {}))?.code).toBe('config_invalid');
  });
});

describe('buildRequest() headers and cookies', () => {
  const cases: [boolean, unknown, string][] = [
    [false, primitive, '5'],
    [false, array, '3,4,5'],
    [false, object, 'role,admin,firstName,Alex'],
    [true, object, 'role=admin,firstName=Alex'],
  ];
  it.each(cases)('header simple explode %s with %j gives %s', (explode, value, want) => {
    const tool = toolOf('/x', [{ name: 'X-Id', in: 'header', explode }]);
    expect(buildRequest(tool, base, { 'X-Id': value }).headers['x-id']).toBe(want);
  });

  it.each([['a\r\nX-Evil: 1'], ['a\nb'], ['a\u0000b'], ['a\u007fb'], ['☕']])('header value %j is refused', (value) => {
    const tool = toolOf('/x', [{ name: 'X-Trace', in: 'header', argument: 'trace' }]);
    expect(codeOf(() => buildRequest(tool, base, { trace: value }))).toEqual({
      code: 'invalid_arguments',
      argument: 'trace',
    });
  });

  it.each([
    ['Authorization'],
    ['cookie'],
    ['Proxy-Authorization'],
    ['Host'],
    ['Content-Length'],
    ['Transfer-Encoding'],
    ['Connection'],
    ['Content-Type'],
  ])('MC-02 header parameter %s is dropped, even when required', (name) => {
    const tool = toolOf('/x', [{ name, in: 'header', required: true }]);
    const { headers } = buildRequest(tool, base, { [name]: 'from-the-model' });
    expect(Object.values(headers)).not.toContain('from-the-model');
    expect(Object.keys(headers)).toEqual(['accept']);
  });

  const cookieCases: [boolean, unknown, string][] = [
    [true, primitive, 'id=5'],
    [true, array, 'id=3; id=4; id=5'],
    [false, array, 'id=3,4,5'],
    [true, object, 'role=admin; firstName=Alex'],
    [false, object, 'id=role,admin,firstName,Alex'],
    [true, 'a; admin=1', 'id=a%3B%20admin%3D1'],
  ];
  it.each(cookieCases)('cookie form explode %s with %j gives %s', (explode, value, want) => {
    const tool = toolOf('/x', [
      { name: 'id', in: 'cookie', explode },
      { name: 'theme', in: 'cookie' },
    ]);
    expect(buildRequest(tool, base, { id: value }).headers['cookie']).toBe(want);
    expect(buildRequest(tool, base, { id: value, theme: 'dark' }).headers['cookie']).toBe(`${want}; theme=dark`);
  });
});

describe('buildRequest() required arguments', () => {
  it.each([
    ['path', toolOf('/x/{id}', [{ name: 'id', in: 'path' }]), 'id'],
    ['query', toolOf('/x', [{ name: 'q', in: 'query', required: true }]), 'q'],
    ['header', toolOf('/x', [{ name: 'X-Req', in: 'header', required: true, argument: 'req' }]), 'req'],
    ['cookie', toolOf('/x', [{ name: 's', in: 'cookie', required: true }]), 's'],
    [
      'body',
      toolOf('/x', [], { method: 'POST', body: { argument: 'body', mediaType: 'application/json', required: true } }),
      'body',
    ],
  ])('a missing required %s argument is refused with its name', (_, tool, argument) => {
    expect(codeOf(() => buildRequest(tool, base, { other: 1 }))).toEqual({ code: 'invalid_arguments', argument });
    expect(codeOf(() => buildRequest(tool, base, { [argument]: null }))).toEqual({
      code: 'invalid_arguments',
      argument,
    });
  });

  it('a path variable without a parameter is a description problem', () => {
    expect(codeOf(() => buildRequest(toolOf('/x/{id}', []), base, { id: 1 }))?.code).toBe('description_invalid');
  });
});

describe('buildRequest() bodies', () => {
  const post = (mediaType: string, required = false) =>
    toolOf('/x', [], { method: 'POST', body: { argument: 'body', mediaType, required } });

  it.each([['application/json'], ['application/merge-patch+json'], ['application/vnd.api+json; charset=utf-8']])(
    '%s is JSON text',
    (mediaType) => {
      const value = { a: [1, { b: 'ü' }], c: null };
      const built = buildRequest(post(mediaType), base, { body: value });
      expect(built.contentType).toBe(mediaType);
      expect(JSON.parse(built.body as string)).toEqual(value);
    },
  );

  it('an absent optional body sends nothing', () => {
    const built = buildRequest(post('application/json'), base, {});
    expect(built.body).toBeUndefined();
    expect(built.contentType).toBeUndefined();
  });

  it('form bodies use Stripe-style brackets for nested objects and arrays', () => {
    const body = {
      name: 'a b&c',
      metadata: { plan: 'pro', 'x y': '1' },
      items: [{ price: 'p_1', quantity: 2 }],
      tags: ['x', 'y'],
      active: true,
      skip: null,
    };
    const built = buildRequest(post('application/x-www-form-urlencoded'), base, { body });
    expect(built.contentType).toBe('application/x-www-form-urlencoded');
    expect(built.body).toBe(
      'name=a+b%26c&metadata[plan]=pro&metadata[x%20y]=1&items[0][price]=p_1&items[0][quantity]=2' +
        '&tags[0]=x&tags[1]=y&active=true',
    );
    const parsed = new URLSearchParams(built.body as string);
    expect(parsed.get('name')).toBe('a b&c');
    expect(parsed.get('items[0][price]')).toBe('p_1');
  });

  it('multipart bodies parse back into the same fields', async () => {
    const body = { title: 'Hello\r\nWorld', count: 3, meta: { a: 1 }, tags: ['x', 'y'], 'we"ird\r\nname': 'v' };
    const built = buildRequest(post('multipart/form-data'), base, { body });
    expect(built.contentType).toMatch(/^multipart\/form-data; boundary=----gatehouse-[0-9a-f]{36}$/);
    const form = await new Response(built.body as Uint8Array, {
      headers: { 'content-type': built.contentType as string },
    }).formData();
    expect(form.get('title')).toBe('Hello\r\nWorld');
    expect(form.get('count')).toBe('3');
    expect(JSON.parse(form.get('meta') as string)).toEqual({ a: 1 });
    expect(form.getAll('tags')).toEqual(['x', 'y']);
    expect([...form.keys()]).toHaveLength(6);
    const again = buildRequest(post('multipart/form-data'), base, { body });
    expect(again.contentType).not.toBe(built.contentType);
  });

  it.each([
    ['application/x-www-form-urlencoded', 'text'],
    ['multipart/form-data', [1, 2]],
    ['text/plain', { a: 1 }],
  ])('a %s body of the wrong shape is refused', (mediaType, value) => {
    expect(codeOf(() => buildRequest(post(mediaType), base, { body: value }))).toEqual({
      code: 'invalid_arguments',
      argument: 'body',
    });
  });

  it('text bodies are sent as given', () => {
    const built = buildRequest(post('text/plain'), base, { body: 'hi' });
    expect(built).toMatchObject({ body: 'hi', contentType: 'text/plain' });
  });
});
