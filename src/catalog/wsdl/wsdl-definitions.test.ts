import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { sharedSpec } from '../../../test/support/shared-specs-dir.ts';
import type { GatehouseError } from '../../core/index.ts';
import { bindCatalog } from '../bind-catalog.ts';
import { importDescription } from '../import-description.ts';

const wsdl = (types: string, operations = ['GetOrder', 'CreateOrder'], extra = '') => `<?xml version="1.0"?>
<definitions name="Orders" targetNamespace="urn:orders" xmlns="http://schemas.xmlsoap.org/wsdl/"
  xmlns:tns="urn:orders" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:s12="http://schemas.xmlsoap.org/wsdl/soap12/"
  xmlns:s11="http://schemas.xmlsoap.org/wsdl/soap/">
  <types>
    <xs:schema targetNamespace="urn:orders" elementFormDefault="unqualified">${types}</xs:schema>
  </types>
  ${operations.map((op) => `<message name="${op}In"><part name="p" element="tns:${op}"/></message>`).join('\n')}
  ${extra}
  <portType name="OrdersPort">
    ${operations.map((op) => `<operation name="${op}"><documentation>${op} does things.</documentation><input message="tns:${op}In"/></operation>`).join('\n')}
  </portType>
  <binding name="Orders12" type="tns:OrdersPort"><s12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    ${operations.map((op) => `<operation name="${op}"><s12:operation soapAction="urn:orders:${op}:12"/><input><s12:body use="literal"/></input></operation>`).join('\n')}
  </binding>
  <binding name="Orders11" type="tns:OrdersPort"><s11:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    ${operations.map((op) => `<operation name="${op}"><s11:operation soapAction="urn:orders:${op}"/><input><s11:body use="literal"/></input></operation>`).join('\n')}
  </binding>
  <service name="Orders">
    <port name="P12" binding="tns:Orders12"><s12:address location="https://soap.example.com/orders12"/></port>
    <port name="P11" binding="tns:Orders11"><s11:address location="https://soap.example.com/orders"/></port>
  </service>
</definitions>`;

const types = `
  <xs:simpleType name="Status"><xs:restriction base="xs:string"><xs:enumeration value="open"/><xs:enumeration value="closed"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Sku"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{2}\\-[0-9]+"/><xs:maxLength value="12"/></xs:restriction></xs:simpleType>
  <xs:complexType name="Line"><xs:sequence><xs:element name="sku" type="tns:Sku"/><xs:element name="quantity" type="xs:int"/></xs:sequence></xs:complexType>
  <xs:element name="GetOrder"><xs:complexType><xs:sequence><xs:element name="id" type="xs:long"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="CreateOrder"><xs:complexType><xs:sequence>
    <xs:element name="customer" type="xs:string"/>
    <xs:element name="status" type="tns:Status" minOccurs="0"/>
    <xs:element name="line" type="tns:Line" maxOccurs="unbounded"/>
    <xs:choice><xs:element name="email" type="xs:string"/><xs:element name="phone" type="xs:string"/></xs:choice>
  </xs:sequence></xs:complexType></xs:element>`;

function errorOf(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error('expected an error');
}

describe('WSDL import', () => {
  it('makes a tool per bound operation, from the SOAP 1.1 port when both are offered, with its address', () => {
    const catalog = importDescription({ text: wsdl(types), source: 'orders.wsdl' });
    expect(catalog.format).toBe('wsdl');
    expect(catalog.problems).toEqual([]);
    expect(catalog.baseUrl).toBe('https://soap.example.com/orders');
    const tools = bindCatalog(catalog, 'orders').tools;
    expect(
      tools.map((t) => [t.name, t.tool.safety, t.tool.request.soap?.version, t.tool.request.soap?.action]),
    ).toEqual([
      ['orders_GetOrder', 'safe', '1.1', 'urn:orders:GetOrder'],
      ['orders_CreateOrder', 'write', '1.1', 'urn:orders:CreateOrder'],
    ]);
    expect(tools[0]!.tool.title).toBe('GetOrder does things.');
  });

  it('turns the XSD into JSON Schema: sequences, optional, repeated, choice, enums and patterns', () => {
    const create = importDescription({ text: wsdl(types), source: 'orders.wsdl' }).tools[1]!;
    expect(create.inputSchema).toMatchObject({
      required: ['customer', 'line'],
      properties: {
        customer: { type: 'string' },
        status: { type: 'string', enum: ['open', 'closed'] },
        line: {
          type: 'array',
          items: {
            type: 'object',
            required: ['sku', 'quantity'],
            properties: { sku: { pattern: '^(?:[A-Z]{2}-[0-9]+)$', maxLength: 12 }, quantity: { type: 'integer' } },
          },
        },
        email: { type: 'string' },
        phone: { type: 'string' },
      },
    });
    const validate = new Ajv2020({ strict: false }).compile(create.inputSchema);
    expect(validate({ customer: 'c', line: [{ sku: 'AB-1', quantity: 2 }] })).toBe(true);
    expect(validate({ customer: 'c', line: [{ sku: 'ab', quantity: 2 }] })).toBe(false);
    const xml = create.request.soap!.input;
    expect(xml).toMatchObject({ name: 'CreateOrder', namespace: 'urn:orders' });
    expect(xml.children!.map((c) => [c.name, c.namespace, c.repeated])).toEqual([
      ['customer', undefined, false],
      ['status', undefined, false],
      ['line', undefined, true],
      ['email', undefined, false],
      ['phone', undefined, false],
    ]);
  });

  it('skips an operation with an unknown type, naming the binding, operation, element and type', () => {
    const broken = types.replace('type="xs:long"', 'type="tns:Missing"');
    const catalog = importDescription({ text: wsdl(broken), source: 'orders.wsdl' });
    expect(catalog.tools.map((t) => t.key)).toEqual(['CreateOrder']);
    expect(catalog.problems).toEqual([
      { at: 'binding Orders11 operation GetOrder', reason: 'element GetOrder.id has unknown type tns:Missing' },
      { at: 'binding Orders12 operation GetOrder', reason: 'element GetOrder.id has unknown type tns:Missing' },
    ]);
  });

  it('reports rpc style operations as skipped', () => {
    const rpc = wsdl(types).replace('<s11:binding style="document"', '<s11:binding style="rpc"');
    const catalog = importDescription({ text: rpc, source: 'orders.wsdl' });
    // The 1.2 port still offers them as document/literal.
    expect(catalog.tools.map((t) => t.request.soap?.version)).toEqual(['1.2', '1.2']);
    expect(catalog.problems.map((p) => p.reason)).toEqual([
      'rpc style is not supported (document/literal only)',
      'rpc style is not supported (document/literal only)',
    ]);
  });

  it('refuses XML that is not well-formed, naming the file, line and column', () => {
    const error = errorOf(() =>
      importDescription({
        text: '<?xml version="1.0"?>\n<definitions>\n  <types>\n</definitions>',
        source: 'bad.wsdl',
      }),
    );
    expect(error.code).toBe('description_invalid');
    expect(error.message).toContain('bad.wsdl');
    expect(error.details).toMatchObject({ source: 'bad.wsdl', line: 4 });
  });

  it('refuses a document type declaration (no entity expansion)', () => {
    const text = wsdl(types).replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>');
    expect(errorOf(() => importDescription({ text, source: 'dtd.wsdl' })).code).toBe('description_invalid');
  });
});

const vies = sharedSpec('soap.eu-vies.checkVatService.wsdl');
describe.skipIf(vies === undefined)('WSDL import of the EU VIES service', () => {
  it('imports checkVat and checkVatApprox as read tools with qualified elements', () => {
    const catalog = importDescription({ text: readFileSync(vies!, 'utf8'), source: 'vies.wsdl' });
    expect(catalog.problems).toEqual([]);
    expect(catalog.baseUrl).toBe('http://ec.europa.eu/taxation_customs/vies/services/checkVatService');
    const [check, approx] = catalog.tools;
    expect([check!.key, approx!.key]).toEqual(['checkVat', 'checkVatApprox']);
    expect(check!.safety).toBe('safe');
    expect(check!.inputSchema['required']).toEqual(['countryCode', 'vatNumber']);
    const types = 'urn:ec.europa.eu:taxud:vies:services:checkVat:types';
    expect(check!.request.soap!.input.children!.map((c) => c.namespace)).toEqual([types, types]);
    expect((approx!.inputSchema['properties'] as Record<string, unknown>)['traderCompanyType']).toEqual({
      type: 'string',
      pattern: '^(?:[A-Z]{2}-[1-9][0-9]?)$',
    });
  });
});
