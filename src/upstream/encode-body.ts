import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../core/index.ts';
import { serializeBrackets } from './serialize-parameter.ts';

export interface EncodedBody {
  readonly body: Uint8Array | string;
  /** The `Content-Type` to send (for multipart, with its boundary). */
  readonly contentType: string;
}

/**
 * Encodes the `body` argument for the operation's media type:
 * - `application/json` and any `+json` type: `JSON.stringify(value)`;
 * - `application/x-www-form-urlencoded`: an object whose members become `key=value`; nested objects and arrays use
 *   Stripe-style bracket keys (`metadata[plan]=pro`, `items[0][price]=p_1`), `null` members are skipped, spaces
 *   become `+`;
 * - `multipart/form-data`: an object; each member becomes one part. Strings, numbers and booleans are text parts,
 *   objects are `application/json` parts, arrays repeat the field once per item. The boundary is random per call.
 *   File uploads (base64 content turned into binary parts with a filename) are out of scope.
 * - any other type (`text/plain`, `application/xml`, ...): the value must be a string and is sent as is.
 * `argument` names the tool argument in errors.
 */
export function encodeBody(mediaType: string, value: unknown, argument: string): EncodedBody {
  const essence = mediaType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (essence === 'application/json' || essence.endsWith('+json')) {
    return { body: JSON.stringify(value), contentType: mediaType };
  }
  if (essence === 'application/x-www-form-urlencoded') {
    const members = requireObject(value, argument, essence);
    const pairs = Object.entries(members).flatMap(([key, member]) =>
      serializeBrackets(encodeForm(key), member, encodeForm),
    );
    return { body: pairs.join('&'), contentType: essence };
  }
  if (essence === 'multipart/form-data') {
    return encodeMultipart(requireObject(value, argument, essence));
  }
  if (typeof value !== 'string') {
    throw new GatehouseError('invalid_arguments', `Argument '${argument}' must be a string for ${essence}`, {
      argument,
    });
  }
  return { body: value, contentType: mediaType };
}

function requireObject(value: unknown, argument: string, essence: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatehouseError('invalid_arguments', `Argument '${argument}' must be an object for ${essence}`, {
      argument,
    });
  }
  return value as Record<string, unknown>;
}

function encodeForm(text: string): string {
  return encodeURIComponent(text).replace(/%20/g, '+');
}

// Field names come from the model: quote, CR and LF are escaped as the HTML standard does for form submission,
// so a name can never end the Content-Disposition line or forge another header of the part.
function escapeFieldName(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function encodeMultipart(members: Record<string, unknown>): EncodedBody {
  const parts: { name: string; text: string; json: boolean }[] = [];
  for (const [name, member] of Object.entries(members)) {
    for (const item of Array.isArray(member) ? member : [member]) {
      if (item === null || item === undefined) continue;
      const json = typeof item === 'object';
      parts.push({ name, text: json ? JSON.stringify(item) : String(item), json });
    }
  }
  let boundary = `----gatehouse-${randomBytes(18).toString('hex')}`;
  // 144 random bits make a collision with the content practically impossible; the check makes it impossible.
  while (parts.some((part) => part.text.includes(boundary) || part.name.includes(boundary))) {
    boundary = `----gatehouse-${randomBytes(18).toString('hex')}`;
  }
  const lines: string[] = [];
  for (const part of parts) {
    lines.push(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeFieldName(part.name)}"\r\n`);
    if (part.json) lines.push('Content-Type: application/json\r\n');
    lines.push(`\r\n${part.text}\r\n`);
  }
  lines.push(`--${boundary}--\r\n`);
  return { body: new TextEncoder().encode(lines.join('')), contentType: `multipart/form-data; boundary=${boundary}` };
}
