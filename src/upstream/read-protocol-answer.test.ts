import { describe, expect, it } from 'vitest';
import type { GatehouseError, Tool, ToolRequest } from '../core/index.ts';
import type { UpstreamResponse } from './create-upstream-client.ts';
import { readProtocolAnswer } from './read-protocol-answer.ts';

const secret = 'sk-secret-0123456789';
const scrub = (text: string) => text.replaceAll(secret, '[redacted]');

function toolWith(request: Partial<ToolRequest>): Tool {
  return {
    key: 'k',
    operation: 'o',
    title: '',
    description: '',
    inputSchema: {},
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    safety: 'safe',
    scopes: [],
    tags: [],
    request: { method: 'POST', pathTemplate: '', parameters: [], ...request },
  };
}

function answer(status: number, body: string, json?: unknown): UpstreamResponse {
  return {
    status,
    headers: {},
    contentType: json === undefined ? 'text/xml' : 'application/json',
    body: new TextEncoder().encode(body),
    ...(json === undefined ? {} : { json, jsonText: body }),
    redirects: 0,
    durationMs: 1,
  };
}

function errorOf(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error('expected an error');
}

const graphql = toolWith({ graphql: { document: 'query { item { id } }', field: 'item', variables: [] } });
const soap = toolWith({
  soap: { version: '1.1', action: '', input: { name: 'GetOrder', repeated: false, required: true, children: [] } },
});

describe('readProtocolAnswer()', () => {
  it('GraphQL: the result is data[field]', () => {
    const body = { data: { item: { id: '1' } } };
    expect(readProtocolAnswer(graphql, answer(200, JSON.stringify(body), body), 'shop_item', scrub).json).toEqual({
      id: '1',
    });
  });

  it('GraphQL: errors with HTTP 200 are upstream_error carrying the (scrubbed) messages', () => {
    const body = { data: { item: null }, errors: [{ message: `Not found, token ${secret}` }] };
    const error = errorOf(() =>
      readProtocolAnswer(graphql, answer(200, JSON.stringify(body), body), 'shop_item', scrub),
    );
    expect(error.code).toBe('upstream_error');
    expect(error.details['status']).toBe(200);
    expect(error.message).toContain('Not found');
    expect(JSON.stringify([error.message, error.details])).not.toContain(secret);
  });

  it('GraphQL: a 200 answer without data is upstream_error', () => {
    expect(errorOf(() => readProtocolAnswer(graphql, answer(200, '{}', {}), 'shop_item', scrub)).code).toBe(
      'upstream_error',
    );
  });

  it('SOAP: the element in Body becomes the JSON result', () => {
    const xml = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
      <o:GetOrderResponse xmlns:o="urn:orders"><o:id>7</o:id><o:line>a</o:line><o:line>b</o:line></o:GetOrderResponse>
      </s:Body></s:Envelope>`;
    expect(readProtocolAnswer(soap, answer(200, xml), 'orders_GetOrder', scrub).json).toEqual({
      id: '7',
      line: ['a', 'b'],
    });
  });

  it('SOAP: a Fault (1.1 with HTTP 500, 1.2) is upstream_error with its code and scrubbed text', () => {
    const fault11 = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
      <faultcode>s:Client</faultcode><faultstring>INVALID_INPUT ${secret}</faultstring></s:Fault></s:Body></s:Envelope>`;
    const error = errorOf(() => readProtocolAnswer(soap, answer(500, fault11), 'orders_GetOrder', scrub));
    expect(error.code).toBe('upstream_error');
    expect(error.details).toMatchObject({ status: 500, faultcode: 's:Client' });
    expect(error.message).toContain('INVALID_INPUT');
    expect(JSON.stringify([error.message, error.details])).not.toContain(secret);
    const fault12 = `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>
      <e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text xml:lang="en">Bad</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>`;
    const error12 = errorOf(() => readProtocolAnswer(soap, answer(200, fault12), 'orders_GetOrder', scrub));
    expect(error12.details).toMatchObject({ faultcode: 'e:Sender' });
  });

  it('SOAP: a 200 answer that is not an envelope, or carries a DTD, is upstream_error', () => {
    for (const body of ['not xml <', '<a/>', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>']) {
      expect(errorOf(() => readProtocolAnswer(soap, answer(200, body), 'orders_GetOrder', scrub)).code).toBe(
        'upstream_error',
      );
    }
  });

  it('leaves an OpenAPI answer as it is', () => {
    const plain = answer(200, '{"a":1}', { a: 1 });
    expect(readProtocolAnswer(toolWith({}), plain, 'x', scrub)).toBe(plain);
  });
});
