import { XMLParser, XMLValidator } from 'fast-xml-parser';
import {
  type Catalog,
  GatehouseError,
  type ImportProblem,
  type JsonSchema,
  type Tool,
  type ToolSafety,
  type ToolXmlElement,
} from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { outputListedLevels, outputMaxProperties, toRootOutputSchema } from '../openapi/output-schema.ts';

const xsdNamespace = 'http://www.w3.org/2001/XMLSchema';
const soapBindingNamespaces: Readonly<Record<string, '1.1' | '1.2'>> = {
  'http://schemas.xmlsoap.org/wsdl/soap/': '1.1',
  'http://schemas.xmlsoap.org/wsdl/soap12/': '1.2',
};
const maxDepth = 16;
const schemaDescriptionMax = 200;
/** Operation names that read (the WSDL says nothing about side effects): `GetX`, `checkVat`, `ListOrders` ... */
const readVerbs =
  /^(get|check|list|find|search|query|lookup|read|fetch|validate|verify|is|has|count|describe|retrieve|calculate)(?=[A-Z_]|$)/i;

type XmlNode = Record<string, unknown>;
type Scope = ReadonlyMap<string, string>;
interface QName {
  readonly namespace: string;
  readonly name: string;
}

class WsdlIssue extends Error {
  override readonly name = 'WsdlIssue';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  processEntities: false,
  isArray: (name) => !name.startsWith('@_'),
});

/**
 * WSDL 1.1 description -> Catalog. Each operation of a SOAP 1.1 or 1.2 binding with a service port becomes one tool
 * (a 1.1 binding is preferred when the same operation is bound twice): document/literal operations whose input
 * message has one `element` part. The input schema comes from that element's XSD declaration (sequence, all and
 * choice children; `minOccurs="0"` optional; `maxOccurs` > 1 as arrays; named and inline simple types with
 * enumerations, patterns, lengths and bounds; complex types, `ref`s and `complexContent` extensions); the request is
 * the SOAP envelope built by the upstream module. rpc style or encoded use, and `type` parts, are reported as skipped.
 * Safety comes from the operation name (a read verb such as `get`, `check`, `list`, `search` = safe, else write).
 * The base URL is the port's `soap:address`. Throws `description_invalid` naming `source` (and the line and column)
 * when the text is not well-formed XML or not a WSDL 1.1 `definitions` document.
 */
export function transformWsdlDefinitions(text: string, source: string, id: string): Catalog {
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new GatehouseError(
      'description_invalid',
      `WSDL ${source} is not well-formed XML at line ${line}, column ${col}: ${msg}`,
      { source, line, column: col },
    );
  }
  if (/<!DOCTYPE/i.test(text)) {
    throw new GatehouseError('description_invalid', `WSDL ${source} has a document type declaration`, { source });
  }
  const document = parser.parse(text) as XmlNode;
  const rootEntry = Object.entries(document).find(([tag]) => localName(tag) === 'definitions');
  const root = (rootEntry?.[1] as XmlNode[] | undefined)?.[0];
  if (root === undefined) {
    throw new GatehouseError('description_invalid', `WSDL ${source} has no wsdl:definitions element (WSDL 1.1)`, {
      source,
    });
  }
  let model: Definitions;
  try {
    model = readDefinitions(root);
  } catch (error) {
    if (!(error instanceof WsdlIssue)) throw error;
    throw new GatehouseError('description_invalid', `WSDL ${source} ${error.message}`, { source });
  }
  const tools: Tool[] = [];
  const problems: ImportProblem[] = [];
  const done = new Set<string>();
  let baseUrl: string | undefined;
  for (const port of model.ports) {
    const binding = model.bindings.get(key(port.binding));
    if (binding === undefined) {
      problems.push({ at: `port ${port.name}`, reason: `binding ${port.binding.name} is not defined` });
      continue;
    }
    if (binding.version === undefined) continue;
    baseUrl ??= port.address;
    const portType = model.portTypes.get(key(binding.type));
    if (portType === undefined) {
      problems.push({ at: `binding ${binding.name}`, reason: `portType ${binding.type.name} is not defined` });
      continue;
    }
    for (const operation of binding.operations) {
      const at = `binding ${binding.name} operation ${operation.name}`;
      if (done.has(operation.name)) continue;
      try {
        if (operation.style === 'rpc') throw new WsdlIssue('rpc style is not supported (document/literal only)');
        if (operation.use === 'encoded') throw new WsdlIssue('encoded use is not supported (document/literal only)');
        const abstract = portType.operations.get(operation.name);
        if (abstract === undefined) throw new WsdlIssue(`portType ${portType.name} has no such operation`);
        tools.push(toTool(model, portType.name, abstract, operation.action, binding.version));
        done.add(operation.name);
      } catch (error) {
        if (!(error instanceof WsdlIssue)) throw error;
        problems.push(Object.freeze({ at, reason: error.message }));
      }
    }
  }
  if (model.ports.length === 0) problems.push({ at: 'service', reason: 'no service port with a SOAP binding' });
  return Object.freeze({
    id,
    format: 'wsdl',
    title: model.title,
    baseUrl,
    tools: Object.freeze(tools),
    problems: Object.freeze(problems.map((problem) => Object.freeze(problem))),
  });
}

interface Definitions {
  readonly title: string;
  readonly elements: Map<string, { node: XmlNode; scope: Scope; schema: SchemaInfo }>;
  readonly complexTypes: Map<string, { node: XmlNode; scope: Scope; schema: SchemaInfo }>;
  readonly simpleTypes: Map<string, { node: XmlNode; scope: Scope; schema: SchemaInfo }>;
  readonly messages: Map<string, { name: string; element?: QName; type?: QName }[]>;
  readonly portTypes: Map<string, { name: string; operations: Map<string, AbstractOperation> }>;
  readonly bindings: Map<string, Binding>;
  readonly ports: { name: string; binding: QName; address: string | undefined }[];
}

interface SchemaInfo {
  readonly targetNamespace: string;
  readonly qualified: boolean;
}

interface AbstractOperation {
  readonly name: string;
  readonly input: QName | undefined;
  readonly output: QName | undefined;
  readonly documentation: string | undefined;
}

interface Binding {
  readonly name: string;
  readonly type: QName;
  readonly version: '1.1' | '1.2' | undefined;
  readonly operations: { name: string; action: string; style: string; use: string }[];
}

function readDefinitions(root: XmlNode): Definitions {
  const scope = scopeOf(root, new Map());
  const target = attr(root, 'targetNamespace') ?? '';
  const model: Definitions = {
    title: attr(root, 'name') ?? attr(children(root, 'service')[0] ?? {}, 'name') ?? '',
    elements: new Map(),
    complexTypes: new Map(),
    simpleTypes: new Map(),
    messages: new Map(),
    portTypes: new Map(),
    bindings: new Map(),
    ports: [],
  };
  for (const types of children(root, 'types')) {
    for (const schemaNode of children(types, 'schema')) {
      const schemaScope = scopeOf(schemaNode, scope);
      const schema = {
        targetNamespace: attr(schemaNode, 'targetNamespace') ?? '',
        qualified: attr(schemaNode, 'elementFormDefault') === 'qualified',
      };
      for (const [kind, map] of [
        ['element', model.elements],
        ['complexType', model.complexTypes],
        ['simpleType', model.simpleTypes],
      ] as const) {
        for (const node of children(schemaNode, kind)) {
          const name = attr(node, 'name');
          if (name !== undefined)
            map.set(key({ namespace: schema.targetNamespace, name }), { node, scope: schemaScope, schema });
        }
      }
    }
  }
  for (const message of children(root, 'message')) {
    const parts = children(message, 'part').map((part) => {
      const element = attr(part, 'element');
      const type = attr(part, 'type');
      return {
        name: attr(part, 'name') ?? '',
        ...(element === undefined ? {} : { element: resolveQName(element, scope) }),
        ...(type === undefined ? {} : { type: resolveQName(type, scope) }),
      };
    });
    model.messages.set(key({ namespace: target, name: attr(message, 'name') ?? '' }), parts);
  }
  for (const portType of children(root, 'portType')) {
    const operations = new Map<string, AbstractOperation>();
    for (const operation of children(portType, 'operation')) {
      const name = attr(operation, 'name') ?? '';
      const messageOf = (direction: 'input' | 'output') => {
        const node = children(operation, direction)[0];
        const message = node === undefined ? undefined : attr(node, 'message');
        return message === undefined ? undefined : resolveQName(message, scope);
      };
      operations.set(name, {
        name,
        input: messageOf('input'),
        output: messageOf('output'),
        documentation: textOf(children(operation, 'documentation')[0]),
      });
    }
    const name = attr(portType, 'name') ?? '';
    model.portTypes.set(key({ namespace: target, name }), { name, operations });
  }
  for (const binding of children(root, 'binding')) {
    const soapBinding = anyChild(binding, 'binding', scope);
    const version = soapBinding === undefined ? undefined : soapBindingNamespaces[soapBinding.namespace];
    const defaultStyle = soapBinding === undefined ? 'document' : (attr(soapBinding.node, 'style') ?? 'document');
    const operations = children(binding, 'operation').map((operation) => {
      const soapOperation = anyChild(operation, 'operation', scope);
      const input = children(operation, 'input')[0];
      const body = input === undefined ? undefined : anyChild(input, 'body', scope);
      return {
        name: attr(operation, 'name') ?? '',
        action: (soapOperation === undefined ? undefined : attr(soapOperation.node, 'soapAction')) ?? '',
        style: (soapOperation === undefined ? undefined : attr(soapOperation.node, 'style')) ?? defaultStyle,
        use: (body === undefined ? undefined : attr(body.node, 'use')) ?? 'literal',
      };
    });
    const name = attr(binding, 'name') ?? '';
    model.bindings.set(key({ namespace: target, name }), {
      name,
      type: resolveQName(attr(binding, 'type') ?? '', scope),
      version,
      operations,
    });
  }
  const ports: (Definitions['ports'][number] & { version: string })[] = [];
  for (const service of children(root, 'service')) {
    for (const port of children(service, 'port')) {
      const binding = resolveQName(attr(port, 'binding') ?? '', scope);
      const address = anyChild(port, 'address', scope);
      const version = model.bindings.get(key(binding))?.version;
      if (version === undefined) continue;
      ports.push({
        name: attr(port, 'name') ?? '',
        binding,
        address: address === undefined ? undefined : attr(address.node, 'location'),
        version,
      });
    }
  }
  // SOAP 1.1 first: when a service offers both, its operations are imported once, from the 1.1 port.
  model.ports.push(...ports.sort((a, b) => a.version.localeCompare(b.version)));
  return model;
}

function toTool(
  model: Definitions,
  portType: string,
  operation: AbstractOperation,
  action: string,
  version: '1.1' | '1.2',
): Tool {
  if (operation.input === undefined) throw new WsdlIssue('operation has no input message');
  const parts = model.messages.get(key(operation.input));
  if (parts === undefined) throw new WsdlIssue(`message ${operation.input.name} is not defined`);
  const part = parts[0];
  if (parts.length !== 1 || part?.element === undefined) {
    throw new WsdlIssue(`message ${operation.input.name} must have exactly one element part (document/literal)`);
  }
  const global = model.elements.get(key(part.element));
  if (global === undefined) throw new WsdlIssue(`element ${part.element.name} is not declared in the types`);
  const converted = convertElement(model, global.node, global.scope, global.schema, true, 0, part.element.name);
  if (converted.xml.children === undefined) {
    throw new WsdlIssue(`element ${part.element.name} is a simple type; a complex element is expected`);
  }
  const inputSchema: Record<string, unknown> = { ...converted.schema, additionalProperties: false };
  delete inputSchema['description'];
  const output = toRootOutputSchema(outputSchemaOf(model, operation.output));
  const safety: ToolSafety = readVerbs.test(operation.name) ? 'safe' : 'write';
  const title = operation.documentation
    ? (cleanDescription(operation.documentation, 120).split('\n')[0] ?? operation.name)
    : operation.name.replace(/([a-z0-9])([A-Z])/g, '$1 $2');
  return Object.freeze({
    key: operation.name.replace(/[^a-zA-Z0-9_-]/g, '_'),
    operation: `${portType}.${operation.name}`,
    title,
    description: operation.documentation ? cleanDescription(operation.documentation, 1000) : title,
    inputSchema: Object.freeze(inputSchema),
    annotations: Object.freeze({
      readOnlyHint: safety === 'safe',
      destructiveHint: false,
      idempotentHint: safety === 'safe',
      openWorldHint: true,
    }),
    ...(output === undefined ? {} : { outputSchema: output.schema, outputWrapped: output.wrapped }),
    safety,
    scopes: Object.freeze([]),
    tags: Object.freeze([]),
    request: Object.freeze({
      method: 'POST',
      pathTemplate: '',
      parameters: Object.freeze([]),
      soap: Object.freeze({ version, action, input: converted.xml }),
    }),
  });
}

/**
 * The compact output schema (docs/configuration.md, "Structured output") of the answer to an operation: the content
 * of its output message's element as the SOAP answer is read into JSON (`readSoapAnswer`). Undefined when the
 * output is not one element part the types declare (the tool still works, it declares no schema).
 */
function outputSchemaOf(model: Definitions, message: QName | undefined): JsonSchema | undefined {
  const parts = message === undefined ? undefined : model.messages.get(key(message));
  const element = parts?.length === 1 ? parts[0]?.element : undefined;
  const global = element === undefined ? undefined : model.elements.get(key(element));
  if (element === undefined || global === undefined) return undefined;
  let converted: Converted;
  try {
    converted = convertElement(model, global.node, global.scope, global.schema, true, 0, element.name);
  } catch (error) {
    if (error instanceof WsdlIssue) return undefined;
    throw error;
  }
  const answer = asSoapAnswer(converted.schema, 0);
  // The element's content is the answer: an object when it has child elements (`{}` when it is empty).
  return converted.xml.children === undefined ? answer : { ...answer, type: 'object' };
}

/**
 * An element's schema as the SOAP reader delivers its content: text is always a string (values are not parsed), an
 * empty element is `''`, and an element that may repeat is an array only when it does (once, it is the item). Two
 * object levels, at most 20 properties each, like every compact output schema.
 */
function asSoapAnswer(schema: JsonSchema, level: number): JsonSchema {
  if (schema['type'] === 'array') {
    const item = asSoapAnswer((schema['items'] ?? {}) as JsonSchema, level);
    return { ...item, type: ['array', ...[item['type'] ?? []].flat()], items: item };
  }
  if (schema['type'] !== 'object') return { type: 'string' };
  const out: Record<string, unknown> = { type: ['object', 'string'] };
  const properties = Object.entries((schema['properties'] ?? {}) as Record<string, JsonSchema>);
  if (level < outputListedLevels && properties.length > 0) {
    out['properties'] = Object.fromEntries(
      properties.slice(0, outputMaxProperties).map(([name, sub]) => [name, asSoapAnswer(sub, level + 1)]),
    );
  }
  return out;
}

interface Converted {
  readonly schema: JsonSchema;
  readonly xml: ToolXmlElement;
}

function convertElement(
  model: Definitions,
  node: XmlNode,
  scope: Scope,
  schema: SchemaInfo,
  global: boolean,
  depth: number,
  path: string,
): Converted {
  if (depth > maxDepth) throw new WsdlIssue(`element ${path} is nested too deeply (recursive type?)`);
  const ref = attr(node, 'ref');
  if (ref !== undefined) {
    const target = resolveQName(ref, scope);
    const declared = model.elements.get(key(target));
    if (declared === undefined) throw new WsdlIssue(`element ${path} refers to unknown element ${ref}`);
    const converted = convertElement(model, declared.node, declared.scope, declared.schema, true, depth + 1, path);
    return { schema: converted.schema, xml: { ...converted.xml, ...occurs(node) } };
  }
  const name = attr(node, 'name') ?? '';
  const form = attr(node, 'form');
  const qualified = global || form === 'qualified' || (form === undefined && schema.qualified);
  const base = { name, ...(qualified && schema.targetNamespace !== '' ? { namespace: schema.targetNamespace } : {}) };
  const occurrence = occurs(node);
  const documentation = textOf(children(children(node, 'annotation')[0] ?? {}, 'documentation')[0]);
  let result: { schema: JsonSchema; children?: ToolXmlElement[] };
  const typeName = attr(node, 'type');
  const inlineComplex = children(node, 'complexType')[0];
  const inlineSimple = children(node, 'simpleType')[0];
  if (inlineComplex !== undefined) result = convertComplexType(model, inlineComplex, scope, schema, depth, path);
  else if (inlineSimple !== undefined) result = { schema: convertSimpleType(model, inlineSimple, scope, path) };
  else if (typeName !== undefined)
    result = convertNamedType(model, resolveQName(typeName, scope), depth, path, typeName);
  else result = { schema: { type: 'string' } };
  let out: JsonSchema = result.schema;
  if (documentation !== undefined) out = { ...out, description: cleanDescription(documentation, schemaDescriptionMax) };
  if (occurrence.repeated) out = { type: 'array', items: out };
  return {
    schema: out,
    xml: Object.freeze({
      ...base,
      ...(result.children === undefined ? {} : { children: Object.freeze(result.children) }),
      ...occurrence,
    }),
  };
}

function convertNamedType(
  model: Definitions,
  type: QName,
  depth: number,
  path: string,
  written: string,
): { schema: JsonSchema; children?: ToolXmlElement[] } {
  if (type.namespace === xsdNamespace) return { schema: builtInSchema(type.name) };
  const simple = model.simpleTypes.get(key(type));
  if (simple !== undefined) return { schema: convertSimpleType(model, simple.node, simple.scope, path) };
  const complex = model.complexTypes.get(key(type));
  if (complex !== undefined) {
    return convertComplexType(model, complex.node, complex.scope, complex.schema, depth, path);
  }
  throw new WsdlIssue(`element ${path} has unknown type ${written}`);
}

function convertComplexType(
  model: Definitions,
  node: XmlNode,
  scope: Scope,
  schema: SchemaInfo,
  depth: number,
  path: string,
): { schema: JsonSchema; children: ToolXmlElement[] } {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const xmlChildren: ToolXmlElement[] = [];
  const addParticles = (container: XmlNode, optional: boolean): void => {
    for (const [tag, value] of Object.entries(container)) {
      const local = localName(tag);
      if (!Array.isArray(value)) continue;
      for (const item of value as XmlNode[]) {
        if (local === 'element') {
          const converted = convertElement(
            model,
            item,
            scope,
            schema,
            false,
            depth + 1,
            `${path}.${attr(item, 'name') ?? attr(item, 'ref') ?? '?'}`,
          );
          properties[converted.xml.name] = converted.schema;
          xmlChildren.push(converted.xml);
          if (converted.xml.required && !optional) required.push(converted.xml.name);
        } else if (local === 'sequence' || local === 'all') {
          addParticles(item, optional || attr(item, 'minOccurs') === '0');
        } else if (local === 'choice') {
          // One of the alternatives: each is optional on its own (the upstream checks that exactly one is given).
          addParticles(item, true);
        }
      }
    }
  };
  for (const content of children(node, 'complexContent')) {
    for (const extension of [...children(content, 'extension'), ...children(content, 'restriction')]) {
      const baseName = attr(extension, 'base');
      if (baseName !== undefined) {
        const baseType = resolveQName(baseName, scope);
        if (baseType.namespace !== xsdNamespace || baseType.name !== 'anyType') {
          const inherited = convertNamedType(model, baseType, depth + 1, path, baseName);
          const baseProperties = (inherited.schema['properties'] ?? {}) as Record<string, JsonSchema>;
          Object.assign(properties, baseProperties);
          required.push(...((inherited.schema['required'] as string[] | undefined) ?? []));
          xmlChildren.push(...(inherited.children ?? []));
        }
      }
      addParticles(extension, false);
    }
  }
  addParticles(node, false);
  const out: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) out['required'] = required;
  return { schema: out, children: xmlChildren };
}

function convertSimpleType(model: Definitions, node: XmlNode, scope: Scope, path: string): JsonSchema {
  const restriction = children(node, 'restriction')[0];
  if (restriction === undefined) {
    if (children(node, 'list')[0] !== undefined) return { type: 'string', description: 'space-separated list' };
    return { type: 'string' };
  }
  const baseName = attr(restriction, 'base');
  let out: Record<string, unknown> = { type: 'string' };
  if (baseName !== undefined) {
    const baseType = resolveQName(baseName, scope);
    out = { ...convertNamedType(model, baseType, 0, path, baseName).schema };
  }
  const enumeration = children(restriction, 'enumeration')
    .map((item) => attr(item, 'value'))
    .filter((value): value is string => value !== undefined);
  if (enumeration.length > 0) out = { type: 'string', enum: enumeration };
  const pattern = attr(children(restriction, 'pattern')[0] ?? {}, 'value');
  if (pattern !== undefined && out['type'] === 'string') {
    // XSD patterns match the whole value.
    const anchored = `^(?:${toJsPattern(pattern)})$`;
    try {
      new RegExp(anchored, 'u');
      out['pattern'] = anchored;
    } catch {
      // an XSD-only construct (\i, \c, character class subtraction): left to the upstream
    }
  }
  for (const [facet, keyword] of [
    ['minLength', 'minLength'],
    ['maxLength', 'maxLength'],
    ['length', 'minLength'],
    ['length', 'maxLength'],
    ['minInclusive', 'minimum'],
    ['maxInclusive', 'maximum'],
    ['minExclusive', 'exclusiveMinimum'],
    ['maxExclusive', 'exclusiveMaximum'],
  ] as const) {
    const value = Number(attr(children(restriction, facet)[0] ?? {}, 'value'));
    if (Number.isFinite(value)) out[keyword] = value;
  }
  return out;
}

/** XSD allows `\-` outside a character class; a JavaScript `u` pattern does not (it means `-` there). */
function toJsPattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      out += !inClass && next === '-' ? '-' : `${char}${next}`;
      i++;
      continue;
    }
    if (char === '[') inClass = true;
    else if (char === ']') inClass = false;
    out += char;
  }
  return out;
}

function builtInSchema(name: string): JsonSchema {
  switch (name) {
    case 'boolean':
      return { type: 'boolean' };
    case 'int':
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'unsignedInt':
    case 'unsignedLong':
    case 'unsignedShort':
    case 'unsignedByte':
    case 'nonNegativeInteger':
    case 'positiveInteger':
    case 'negativeInteger':
    case 'nonPositiveInteger':
      return { type: 'integer' };
    case 'decimal':
    case 'float':
    case 'double':
      return { type: 'number' };
    case 'date':
      return { type: 'string', format: 'date' };
    case 'dateTime':
      return { type: 'string', format: 'date-time' };
    default:
      return { type: 'string' };
  }
}

function occurs(node: XmlNode): { repeated: boolean; required: boolean } {
  const max = attr(node, 'maxOccurs');
  return {
    repeated: max === 'unbounded' || (max !== undefined && Number(max) > 1),
    required: attr(node, 'minOccurs') !== '0',
  };
}

function key(name: QName): string {
  return `{${name.namespace}}${name.name}`;
}

function localName(tag: string): string {
  const colon = tag.indexOf(':');
  return colon === -1 ? tag : tag.slice(colon + 1);
}

function attr(node: XmlNode, name: string): string | undefined {
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** Child elements of `node` with the local name `local`, whatever their prefix. */
function children(node: XmlNode, local: string): XmlNode[] {
  const out: XmlNode[] = [];
  for (const [tag, value] of Object.entries(node)) {
    if (tag.startsWith('@_') || localName(tag) !== local || !Array.isArray(value)) continue;
    for (const item of value) {
      out.push(typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': String(item) });
    }
  }
  return out;
}

/** A child with the local name `local` in any namespace, with that namespace (SOAP extension elements). */
function anyChild(node: XmlNode, local: string, scope: Scope): { node: XmlNode; namespace: string } | undefined {
  for (const [tag, value] of Object.entries(node)) {
    if (tag.startsWith('@_') || localName(tag) !== local || !Array.isArray(value)) continue;
    const colon = tag.indexOf(':');
    const namespace = scope.get(colon === -1 ? '' : tag.slice(0, colon)) ?? '';
    if (namespace in soapBindingNamespaces) return { node: (value[0] ?? {}) as XmlNode, namespace };
  }
  return undefined;
}

function scopeOf(node: XmlNode, parent: Scope): Scope {
  const scope = new Map(parent);
  for (const [name, value] of Object.entries(node)) {
    if (typeof value !== 'string') continue;
    if (name === '@_xmlns') scope.set('', value);
    else if (name.startsWith('@_xmlns:')) scope.set(name.slice('@_xmlns:'.length), value);
  }
  return scope;
}

function resolveQName(qname: string, scope: Scope): QName {
  const colon = qname.indexOf(':');
  const prefix = colon === -1 ? '' : qname.slice(0, colon);
  const name = colon === -1 ? qname : qname.slice(colon + 1);
  const namespace = scope.get(prefix);
  if (namespace === undefined && prefix !== '') throw new WsdlIssue(`prefix ${prefix} of ${qname} is not declared`);
  return { namespace: namespace ?? '', name };
}

function textOf(node: XmlNode | undefined): string | undefined {
  const text = node?.['#text'];
  return typeof text === 'string' && text.trim() !== '' ? text.trim() : undefined;
}
