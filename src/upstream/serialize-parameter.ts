import { GatehouseError, type ToolParameter } from '../core/index.ts';

/**
 * One tool argument serialised for its location, following the OpenAPI 3 style table (3.1.1 wording):
 * - `path`: the text that replaces `{name}` (simple `3,4,5`, label `.3.4.5`, matrix `;id=3;id=4`);
 * - `query`: `key=value` pairs, already percent-encoded, joined by the caller with `&`;
 * - `header`: the header value (simple style, never percent-encoded);
 * - `cookie`: `name=value` pairs, joined by the caller with `; `.
 *
 * Values: strings as given, numbers and booleans via `String()`, `null`/`undefined` items and object members are
 * skipped. A nested array or object where the style table has no answer (e.g. an object inside a form array) is
 * sent as its JSON text. Path, query and cookie components use `encodeURIComponent` semantics, so a `/`, `&`, `;`
 * or `#` inside a value can never start a new path segment, parameter or cookie.
 */
export function serializeParameter(
  parameter: ToolParameter,
  value: unknown,
  isTakenQueryName: (name: string) => boolean = () => false,
): string[] {
  switch (parameter.in) {
    case 'path':
      return [serializePath(parameter, value)];
    case 'query':
      return serializeQuery(parameter, value, isTakenQueryName);
    case 'header':
      return [serializeHeader(parameter, value)];
    case 'cookie':
      return serializeCookie(parameter, value);
  }
}

type Shape =
  | { kind: 'primitive'; text: string }
  | { kind: 'array'; items: string[] }
  | { kind: 'object'; entries: [string, string][] };

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
}

function isPresent(value: unknown): boolean {
  return value !== null && value !== undefined;
}

function toShape(value: unknown): Shape {
  if (Array.isArray(value)) return { kind: 'array', items: value.filter(isPresent).map(toText) };
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, member]) => isPresent(member))
      .map(([key, member]): [string, string] => [key, toText(member)]);
    return { kind: 'object', entries };
  }
  return { kind: 'primitive', text: toText(value) };
}

function serializePath(parameter: ToolParameter, value: unknown): string {
  const shape = toShape(value);
  const e = encodeURIComponent;
  const name = e(parameter.name);
  const flat = (entries: [string, string][]) => entries.flatMap(([k, v]) => [e(k), e(v)]);
  const pairs = (entries: [string, string][]) => entries.map(([k, v]) => `${e(k)}=${e(v)}`);
  switch (parameter.style) {
    case 'label': {
      const separator = parameter.explode ? '.' : ',';
      if (shape.kind === 'primitive') return `.${e(shape.text)}`;
      if (shape.kind === 'array') return `.${shape.items.map(e).join(separator)}`;
      return `.${(parameter.explode ? pairs(shape.entries) : flat(shape.entries)).join(separator)}`;
    }
    case 'matrix': {
      const assign = (text: string) => (text === '' ? `;${name}` : `;${name}=${text}`);
      if (shape.kind === 'primitive') return assign(e(shape.text));
      if (shape.kind === 'array') {
        return parameter.explode
          ? shape.items.map((item) => assign(e(item))).join('')
          : assign(shape.items.map(e).join(','));
      }
      return parameter.explode
        ? pairs(shape.entries)
            .map((pair) => `;${pair}`)
            .join('')
        : assign(flat(shape.entries).join(','));
    }
    default: {
      if (shape.kind === 'primitive') return e(shape.text);
      if (shape.kind === 'array') return shape.items.map(e).join(',');
      return (parameter.explode ? pairs(shape.entries) : flat(shape.entries)).join(',');
    }
  }
}

// Characters RFC 3986 calls reserved that `allowReserved` passes through. `&`, `#` and `=` stay encoded: left
// bare they would end the value, start a fragment or forge another parameter (e.g. the credential's query name).
const reservedPassThrough = /%(?:25([0-9A-Fa-f]{2})|(3A|2F|3F|5B|5D|40|24|2B|2C|3B))/gi;

function encodeAllowReserved(text: string): string {
  return encodeURIComponent(text).replace(reservedPassThrough, (_, triple: string | undefined, reserved?: string) =>
    triple !== undefined ? `%${triple}` : decodeURIComponent(`%${reserved}`),
  );
}

/**
 * An exploded object (`form`, the OpenAPI default for objects) becomes one `key=value` per property: a property
 * named like another query parameter of the request (`isTakenQueryName`) is dropped, so a model cannot send a
 * second copy of a parameter an overlay fixed or the server URL carries (many servers read the first copy).
 */
function serializeQuery(
  parameter: ToolParameter,
  value: unknown,
  isTakenQueryName: (name: string) => boolean,
): string[] {
  const shape = toShape(value);
  const e = parameter.allowReserved ? encodeAllowReserved : encodeURIComponent;
  const name = encodeURIComponent(parameter.name);
  if (parameter.style === 'deepObject') return serializeBrackets(name, value, e);
  if (shape.kind === 'primitive') return [`${name}=${e(shape.text)}`];
  const delimiter = parameter.style === 'spaceDelimited' ? '%20' : parameter.style === 'pipeDelimited' ? '%7C' : ',';
  if (parameter.explode) {
    if (shape.kind === 'array') return shape.items.map((item) => `${name}=${e(item)}`);
    return shape.entries.filter(([k]) => !isTakenQueryName(k)).map(([k, v]) => `${encodeURIComponent(k)}=${e(v)}`);
  }
  const parts = shape.kind === 'array' ? shape.items : shape.entries.flat();
  return [`${name}=${parts.map(e).join(delimiter)}`];
}

/**
 * Bracket notation for nested values: `a[b]=1`, `a[b][c]=2`, `a[0]=x`. Used by the `deepObject` query style and by
 * `application/x-www-form-urlencoded` bodies (the convention of Stripe, Rails and PHP). Brackets stay literal (as in
 * the OpenAPI examples and Stripe's clients); the key text between them is percent-encoded, so a `]` or `&` in a
 * key cannot change the structure. Empty arrays and objects produce nothing.
 */
export function serializeBrackets(prefix: string, value: unknown, encode: (text: string) => string): string[] {
  if (!isPresent(value)) return [];
  if (Array.isArray(value)) {
    return value.flatMap((item, index) => serializeBrackets(`${prefix}[${index}]`, item, encode));
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, member]) =>
      serializeBrackets(`${prefix}[${encodeURIComponent(key)}]`, member, encode),
    );
  }
  return [`${prefix}=${encode(toText(value))}`];
}

// Field values may hold visible ASCII, space, tab and obs-text (RFC 9110 §5.5); CR, LF, NUL and other controls
// would split or corrupt the header block.
const unsafeHeaderCharacter = /[^\t\x20-\x7e\x80-\xff]/;

function serializeHeader(parameter: ToolParameter, value: unknown): string {
  const shape = toShape(value);
  const text =
    shape.kind === 'primitive'
      ? shape.text
      : shape.kind === 'array'
        ? shape.items.join(',')
        : (parameter.explode ? shape.entries.map(([k, v]) => `${k}=${v}`) : shape.entries.flat()).join(',');
  if (unsafeHeaderCharacter.test(text)) {
    throw new GatehouseError(
      'invalid_arguments',
      `Header argument '${parameter.argument}' contains a control or non-Latin-1 character`,
      { argument: parameter.argument },
    );
  }
  return text.trim();
}

function serializeCookie(parameter: ToolParameter, value: unknown): string[] {
  const shape = toShape(value);
  const e = encodeURIComponent;
  const name = e(parameter.name);
  if (shape.kind === 'primitive') return [`${name}=${e(shape.text)}`];
  if (parameter.explode) {
    if (shape.kind === 'array') return shape.items.map((item) => `${name}=${e(item)}`);
    return shape.entries.map(([k, v]) => `${e(k)}=${e(v)}`);
  }
  const parts = shape.kind === 'array' ? shape.items : shape.entries.flat();
  return [`${name}=${parts.map(e).join(',')}`];
}
