import { GatehouseError, type ToolSoapRequest, type ToolXmlElement } from '../core/index.ts';
import type { BuiltRequest, ParsedBase } from './build-request.ts';

const envelopeNamespaces = {
  '1.1': 'http://schemas.xmlsoap.org/soap/envelope/',
  '1.2': 'http://www.w3.org/2003/05/soap-envelope',
} as const;

/** Characters XML 1.0 does not allow in a document at all (escaping cannot carry them). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters XML 1.0 forbids
const forbiddenCharacters = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * The request of a SOAP tool: `POST` to the endpoint (the service base URL, as is) of an envelope whose body is the
 * operation's input element with the arguments as children, in the order and namespaces of the XSD. Every text
 * value is escaped (`& < > " '`), so no argument can add or close an element; a value with a character XML cannot
 * hold, or a complex element given a non-object, is refused with `invalid_arguments` naming the argument.
 * SOAP 1.1 sends `text/xml` and the `SOAPAction` header; SOAP 1.2 `application/soap+xml` with the `action`
 * parameter.
 */
export function buildSoapRequest(
  soap: ToolSoapRequest,
  base: ParsedBase,
  args: Readonly<Record<string, unknown>>,
): BuiltRequest {
  const prefixes = new Map<string, string>();
  collectNamespaces(soap.input, prefixes);
  const declarations = [...prefixes].map(([namespace, prefix]) => ` xmlns:${prefix}="${escapeXml(namespace)}"`);
  const body = writeElement(soap.input, args, prefixes, '', declarations.join(''));
  const env = envelopeNamespaces[soap.version];
  const xml = `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${env}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
  if (/[\r\n"]/.test(soap.action)) {
    throw new GatehouseError('description_invalid', 'SOAP action of the operation is not a valid header value');
  }
  const headers: Record<string, string> = { accept: 'application/soap+xml, text/xml' };
  let contentType: string;
  if (soap.version === '1.1') {
    headers['soapaction'] = `"${soap.action}"`;
    contentType = 'text/xml; charset=utf-8';
  } else {
    contentType = `application/soap+xml; charset=utf-8${soap.action === '' ? '' : `; action="${soap.action}"`}`;
  }
  return { method: 'POST', url: new URL(base.url), headers, body: xml, contentType };
}

function collectNamespaces(element: ToolXmlElement, prefixes: Map<string, string>): void {
  if (element.namespace !== undefined && !prefixes.has(element.namespace)) {
    prefixes.set(element.namespace, `ns${prefixes.size}`);
  }
  for (const child of element.children ?? []) collectNamespaces(child, prefixes);
}

function writeElement(
  element: ToolXmlElement,
  value: unknown,
  prefixes: ReadonlyMap<string, string>,
  argument: string,
  declarations = '',
): string {
  const prefix = element.namespace === undefined ? '' : `${prefixes.get(element.namespace)}:`;
  const tag = `${prefix}${element.name}`;
  if (element.children === undefined) return `<${tag}${declarations}>${textOf(value, argument)}</${tag}>`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatehouseError('invalid_arguments', `Argument '${argument}' must be an object`, { argument });
  }
  const members = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const child of element.children) {
    const member = members[child.name];
    if (member === undefined || member === null) continue;
    const path = argument === '' ? child.name : `${argument}.${child.name}`;
    const items = child.repeated && Array.isArray(member) ? member : [member];
    for (const item of items) parts.push(writeElement(child, item, prefixes, path));
  }
  return `<${tag}${declarations}>${parts.join('')}</${tag}>`;
}

function textOf(value: unknown, argument: string): string {
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (forbiddenCharacters.test(text)) {
    throw new GatehouseError('invalid_arguments', `Argument '${argument}' has a character XML cannot carry`, {
      argument,
    });
  }
  return escapeXml(text);
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\r/g, '&#13;');
}
