import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { GatehouseError, Tool, ToolSoapRequest } from '../core/index.ts';
import { buildRequest } from './build-request.ts';

const ns = 'urn:orders';
const soap: ToolSoapRequest = {
  version: '1.1',
  action: 'urn:orders:CreateOrder',
  input: {
    name: 'CreateOrder',
    namespace: ns,
    repeated: false,
    required: true,
    children: [
      { name: 'customer', namespace: ns, repeated: false, required: true },
      { name: 'note', repeated: false, required: false },
      {
        name: 'line',
        namespace: ns,
        repeated: true,
        required: true,
        children: [{ name: 'sku', namespace: ns, repeated: false, required: true }],
      },
    ],
  },
};

function toolWith(request: ToolSoapRequest): Tool {
  return {
    key: 'CreateOrder',
    operation: 'Orders.CreateOrder',
    title: '',
    description: '',
    inputSchema: {},
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    safety: 'write',
    scopes: [],
    tags: [],
    request: { method: 'POST', pathTemplate: '', parameters: [], soap: request },
  };
}

const parser = new XMLParser({ removeNSPrefix: true, ignoreAttributes: true, parseTagValue: false });

describe('buildRequest() for a SOAP tool', () => {
  it('posts an envelope to the endpoint with the SOAPAction header, children in XSD order and namespaces', () => {
    const built = buildRequest(toolWith(soap), 'https://soap.example.com/orders?wsdl=1', {
      line: [{ sku: 'A-1' }, { sku: 'B-2' }],
      customer: 'Ann',
    });
    expect(built.method).toBe('POST');
    expect(built.url.href).toBe('https://soap.example.com/orders?wsdl=1');
    expect(built.headers['soapaction']).toBe('"urn:orders:CreateOrder"');
    expect(built.contentType).toBe('text/xml; charset=utf-8');
    expect(built.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>' +
        '<ns0:CreateOrder xmlns:ns0="urn:orders"><ns0:customer>Ann</ns0:customer><ns0:line><ns0:sku>A-1</ns0:sku></ns0:line>' +
        '<ns0:line><ns0:sku>B-2</ns0:sku></ns0:line></ns0:CreateOrder></soap:Body></soap:Envelope>',
    );
  });

  it('escapes markup in arguments, so a value cannot add or close elements', () => {
    const attack = '</ns0:customer><ns0:admin>true</ns0:admin><ns0:customer>&amp;"\'';
    const built = buildRequest(toolWith(soap), 'https://soap.example.com/orders', {
      customer: attack,
      note: ']]><x/>',
      line: [],
    });
    const parsed = parser.parse(String(built.body)) as {
      Envelope: { Body: { CreateOrder: Record<string, unknown> } };
    };
    expect(parsed.Envelope.Body.CreateOrder).toEqual({ customer: attack, note: ']]><x/>' });
    expect(String(built.body)).not.toContain('<ns0:admin>');
  });

  it('refuses characters XML cannot carry, naming the argument', () => {
    let error: GatehouseError | undefined;
    try {
      buildRequest(toolWith(soap), 'https://soap.example.com/orders', { customer: 'a\u0000b', line: [] });
    } catch (thrown) {
      error = thrown as GatehouseError;
    }
    expect(error?.code).toBe('invalid_arguments');
    expect(error?.details['argument']).toBe('customer');
  });

  it('SOAP 1.2 sends the action as a media type parameter and the 1.2 envelope', () => {
    const built = buildRequest(toolWith({ ...soap, version: '1.2' }), 'https://soap.example.com/orders', {
      customer: 'Ann',
      line: [],
    });
    expect(built.contentType).toBe('application/soap+xml; charset=utf-8; action="urn:orders:CreateOrder"');
    expect(built.headers['soapaction']).toBeUndefined();
    expect(String(built.body)).toContain('xmlns:soap="http://www.w3.org/2003/05/soap-envelope"');
  });
});
