import { XMLParser } from 'fast-xml-parser';
import { GatehouseError } from '../core/index.ts';
import type { UpstreamResponse } from './create-upstream-client.ts';

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  processEntities: true,
});

/**
 * A SOAP answer as JSON: the element inside `Body` (namespace prefixes dropped, text as strings, repeated elements
 * as arrays). A `Fault` (SOAP 1.1 `faultcode`/`faultstring`, 1.2 `Code`/`Reason`; any HTTP status) becomes
 * `upstream_error` with the fault's code and text (scrubbed) in `details`. A body that is not a SOAP envelope, or
 * that carries a document type declaration (SOAP forbids DTDs: SOAP 1.1 §3, SOAP 1.2 part 1 §5), is
 * `upstream_error` too, unless the status is already a failure, which shaping reports with its body.
 */
export function readSoapAnswer(
  answer: UpstreamResponse,
  toolName: string,
  scrub: (text: string) => string,
): UpstreamResponse {
  const failed = answer.status < 200 || answer.status >= 300;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(answer.body);
  if (/<!DOCTYPE/i.test(text)) {
    if (failed) return answer;
    throw notSoap(answer, toolName, 'carries a document type declaration');
  }
  let parsed: unknown;
  try {
    parsed = parser.parse(text, true);
  } catch {
    if (failed) return answer;
    throw notSoap(answer, toolName, 'is not well-formed XML');
  }
  const body = (parsed as { Envelope?: { Body?: unknown } } | undefined)?.Envelope?.Body;
  if (body === undefined || typeof body !== 'object' || body === null) {
    if (failed) return answer;
    throw notSoap(answer, toolName, 'is not a SOAP envelope');
  }
  const members = body as Record<string, unknown>;
  const fault = members['Fault'] as Record<string, unknown> | undefined;
  if (fault !== undefined) {
    const code =
      textOf(fault['faultcode']) ?? textOf((fault['Code'] as Record<string, unknown> | undefined)?.['Value']);
    const reason =
      textOf(fault['faultstring']) ?? textOf((fault['Reason'] as Record<string, unknown> | undefined)?.['Text']) ?? '';
    const said = scrub(reason).replace(/\s+/g, ' ').slice(0, 500);
    throw new GatehouseError(
      'upstream_error',
      `Upstream answered a SOAP Fault to ${toolName}${said ? `: ${said}` : ''}`,
      {
        status: answer.status,
        ...(code === undefined ? {} : { faultcode: scrub(code) }),
        body: scrub(JSON.stringify(fault)).slice(0, 2_000),
      },
    );
  }
  if (failed) return answer;
  const [first] = Object.values(members);
  return { ...answer, json: first === undefined || first === '' ? {} : first, jsonText: undefined };
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return textOf(value[0]);
  return undefined;
}

function notSoap(answer: UpstreamResponse, toolName: string, why: string): GatehouseError {
  return new GatehouseError('upstream_error', `Upstream answer to ${toolName} ${why}`, { status: answer.status });
}
