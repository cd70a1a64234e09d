import { createHash } from 'node:crypto';
import type { ImportProblem } from '../../core/index.ts';
import { isPlainObject, markInvisibles } from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { toolDescriptionMax } from '../openapi/operation-object.ts';

/** A resource of a remote MCP server as the gateway lists it again: the server's fields, checked and bounded. */
export interface McpResource {
  readonly uri: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  readonly size?: number;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** A resource template (RFC 6570 `uriTemplate`) of a remote MCP server. */
export interface McpResourceTemplate {
  readonly uriTemplate: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

export interface McpPromptArgument {
  readonly name: string;
  readonly description?: string;
  readonly required?: boolean;
}

/** A prompt of a remote MCP server: `key` is its name with `.` as `_` (as tool keys), `name` the server's own. */
export interface McpPrompt {
  readonly key: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly arguments?: readonly McpPromptArgument[];
}

/** What a remote MCP server offers besides tools, as last listed; `id` changes when any of it changes. */
export interface McpFeatures {
  readonly id: string;
  readonly resources: readonly McpResource[];
  readonly resourceTemplates: readonly McpResourceTemplate[];
  readonly prompts: readonly McpPrompt[];
  /** The server declares the `completions` capability (it answers `completion/complete`). */
  readonly completions: boolean;
  readonly problems: readonly ImportProblem[];
}

/** Listing size bounds: a server cannot make the gateway hold an unbounded list. */
export const mcpFeaturesMax = 2_000;
const uriMax = 2_048;
const nameMax = 200;
/** The MCP prompt name rule the gateway applies (as for tools): 1-128 characters of `A-Z a-z 0-9 _ - .`. */
const promptName = /^[A-Za-z0-9_.-]{1,128}$/;
const promptArgumentsMax = 64;

/**
 * A remote MCP server's resources, resource templates and prompts (untrusted) -> the lists the gateway serves. Only
 * the fields MCP defines are kept, each checked; an entry without its required fields, with an over-long URI, a
 * prompt whose name breaks the name rule or maps to another prompt's key, and entries past `mcpFeaturesMax` are
 * skipped and reported as problems.
 */
export function transformMcpFeatures(
  listing: {
    readonly resources: readonly unknown[];
    readonly resourceTemplates: readonly unknown[];
    readonly prompts: readonly unknown[];
    readonly completions?: boolean;
  },
  source: string,
): McpFeatures {
  const problems: ImportProblem[] = [];
  const id = createHash('sha256')
    .update(`mcp-features\u0000${source}\u0000${JSON.stringify(listing)}`)
    .digest('hex');
  const resources = bounded(listing.resources, 'resources', problems, toResource);
  const resourceTemplates = bounded(listing.resourceTemplates, 'resourceTemplates', problems, toTemplate);
  const keys = new Set<string>();
  const prompts = bounded(listing.prompts, 'prompts', problems, (value, at) => toPrompt(value, at, keys));
  return Object.freeze({
    id,
    resources,
    resourceTemplates,
    prompts,
    completions: listing.completions === true,
    problems: Object.freeze(problems),
  });
}

/** No resources, templates or prompts (a server not listed yet, or one that declares none). */
export const noMcpFeatures: McpFeatures = transformMcpFeatures(
  { resources: [], resourceTemplates: [], prompts: [] },
  '',
);

function bounded<T>(
  values: readonly unknown[],
  kind: string,
  problems: ImportProblem[],
  convert: (value: Record<string, unknown>, at: string) => T | string,
): readonly T[] {
  const kept: T[] = [];
  for (const [i, value] of values.entries()) {
    const at = `${kind}[${i}]`;
    if (kept.length >= mcpFeaturesMax) {
      problems.push({ at, reason: `more than ${mcpFeaturesMax} ${kind}: the rest are not listed` });
      break;
    }
    const converted = isPlainObject(value) ? convert(value, at) : 'not an object';
    if (typeof converted === 'string') problems.push({ at, reason: converted });
    else kept.push(Object.freeze(converted));
  }
  return Object.freeze(kept);
}

function toResource(value: Record<string, unknown>): McpResource | string {
  const { uri, name } = value;
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > uriMax) return `uri is not a string of 1-${uriMax}`;
  if (typeof name !== 'string' || name.length === 0) return 'name is missing';
  return {
    uri,
    name: name.slice(0, nameMax),
    ...describedBy(value),
    ...(typeof value['mimeType'] === 'string' ? { mimeType: value['mimeType'].slice(0, nameMax) } : {}),
    ...(typeof value['size'] === 'number' && Number.isFinite(value['size']) ? { size: value['size'] } : {}),
    ...annotated(value),
  };
}

function toTemplate(value: Record<string, unknown>): McpResourceTemplate | string {
  const { uriTemplate, name } = value;
  if (typeof uriTemplate !== 'string' || uriTemplate.length === 0 || uriTemplate.length > uriMax) {
    return `uriTemplate is not a string of 1-${uriMax}`;
  }
  if (typeof name !== 'string' || name.length === 0) return 'name is missing';
  return {
    uriTemplate,
    name: name.slice(0, nameMax),
    ...describedBy(value),
    ...(typeof value['mimeType'] === 'string' ? { mimeType: value['mimeType'].slice(0, nameMax) } : {}),
    ...annotated(value),
  };
}

function toPrompt(value: Record<string, unknown>, at: string, keys: Set<string>): McpPrompt | string {
  const { name } = value;
  if (typeof name !== 'string' || !promptName.test(name)) {
    return `${typeof name === 'string' ? `prompt ${name.slice(0, 128)}: ` : ''}invalid prompt name: expected 1-128 characters of A-Z a-z 0-9 _ - .`;
  }
  const key = name.replace(/\./g, '_');
  if (keys.has(key)) return `prompt ${name}: its name maps to ${key}, as another prompt's does`;
  keys.add(key);
  const listed = Array.isArray(value['arguments']) ? value['arguments'] : [];
  const args: McpPromptArgument[] = [];
  for (const [i, argument] of listed.slice(0, promptArgumentsMax).entries()) {
    if (!isPlainObject(argument) || typeof argument['name'] !== 'string' || argument['name'].length === 0) {
      return `${at}.arguments[${i}]: name is missing`;
    }
    args.push(
      Object.freeze({
        name: argument['name'].slice(0, 128),
        ...(typeof argument['description'] === 'string'
          ? { description: cleanDescription(argument['description'], 1_000) }
          : {}),
        ...(typeof argument['required'] === 'boolean' ? { required: argument['required'] } : {}),
      }),
    );
  }
  return {
    key,
    name,
    ...describedBy(value),
    ...(Array.isArray(value['arguments']) ? { arguments: Object.freeze(args) } : {}),
  };
}

function describedBy(value: Record<string, unknown>): { title?: string; description?: string } {
  return {
    // Shown to a person by the client: invisible and bidi characters as marks (CP-04), as a federated tool's.
    ...(typeof value['title'] === 'string' ? { title: markInvisibles(value['title'].slice(0, nameMax)) } : {}),
    ...(typeof value['description'] === 'string'
      ? { description: markInvisibles(cleanDescription(value['description'], toolDescriptionMax)) }
      : {}),
  };
}

/** Resource annotations (`audience`, `priority`, `lastModified`) as the server states them; nothing else. */
function annotated(value: Record<string, unknown>): { annotations?: Readonly<Record<string, unknown>> } {
  const annotations = value['annotations'];
  if (!isPlainObject(annotations)) return {};
  const kept: Record<string, unknown> = {};
  if (Array.isArray(annotations['audience'])) {
    kept['audience'] = annotations['audience'].filter((role) => role === 'user' || role === 'assistant');
  }
  if (typeof annotations['priority'] === 'number') kept['priority'] = annotations['priority'];
  if (typeof annotations['lastModified'] === 'string') kept['lastModified'] = annotations['lastModified'].slice(0, 64);
  return Object.keys(kept).length === 0 ? {} : { annotations: Object.freeze(kept) };
}

/**
 * One step of a compiled template: a literal character, a character a class admits (`once`), or any number of them
 * (`repeat`, after a `once`: a variable's one-or-more).
 */
type TemplateStep =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'once' | 'repeat'; readonly admits: (char: string) => boolean };

const notSlashComma = (char: string) => char !== '/' && char !== ',';
const notSlash = (char: string) => char !== '/';
const notAmpersand = (char: string) => char !== '&';
const notLineEnd = (char: string) => char !== '\n' && char !== '\r' && char !== '\u2028' && char !== '\u2029';

/** Compiled templates (at most `mcpFeaturesMax` per listing; the memo is emptied when it grows past 10,000). */
const compiledTemplates = new Map<string, readonly TemplateStep[] | null>();
/** A URI longer than this matches no template (the matching costs its length times the template's). */
const matchedUriMax = 8_192;

/**
 * Whether `uri` is one of the URIs of an RFC 6570 `uriTemplate` (a template that does not parse matches nothing), as
 * the MCP SDK's `UriTemplate.match` decides it (a variable is one or more characters of its operator's class), but in
 * time linear in the URI's length times the template's: the SDK builds a backtracking `RegExp`, and a server's
 * template `{+a}{+b}...{+l}!` held the event loop for minutes on a 40-character URI (finding
 * federated_uri_template_redos). An exploded variable admits any characters but `/` (the SDK's finer comma rule is not
 * kept: the answer only picks the server a read goes to).
 */
export function matchesUriTemplate(uriTemplate: string, uri: string): boolean {
  let compiled = compiledTemplates.get(uriTemplate);
  if (compiled === undefined) {
    compiled = compileUriTemplate(uriTemplate);
    if (compiledTemplates.size >= 10_000) compiledTemplates.clear();
    compiledTemplates.set(uriTemplate, compiled);
  }
  if (compiled === null || uri.length > matchedUriMax) return false;
  return runTemplate(compiled, uri);
}

/** The steps of a template, as the SDK's `UriTemplate` turns each expression into a pattern; null when it does not parse. */
function compileUriTemplate(template: string): readonly TemplateStep[] | null {
  const steps: TemplateStep[] = [];
  const literal = (text: string) => {
    for (const char of text) steps.push({ kind: 'char', char });
  };
  const variable = (admits: (char: string) => boolean) => {
    steps.push({ kind: 'once', admits }, { kind: 'repeat', admits });
  };
  for (let at = 0; at < template.length; ) {
    const open = template.indexOf('{', at);
    if (open === -1) {
      literal(template.slice(at));
      break;
    }
    literal(template.slice(at, open));
    const close = template.indexOf('}', open);
    if (close === -1) return null;
    const expression = template.slice(open + 1, close);
    const operator = /^[+#./;?&]/.test(expression) ? (expression[0] as string) : '';
    const names = expression
      .slice(operator.length)
      .split(',')
      .map((name) => name.trim());
    if (names.some((name) => name === '' || name === '*')) return null;
    const exploded = names.some((name) => name.endsWith('*'));
    switch (operator) {
      case '':
        variable(exploded ? notSlash : notSlashComma);
        break;
      case '+':
      case '#':
        variable(notLineEnd);
        break;
      case '.':
        literal('.');
        variable(notSlashComma);
        break;
      case '/':
        literal('/');
        variable(exploded ? notSlash : notSlashComma);
        break;
      case '?':
      case '&':
        for (const [i, name] of names.entries()) {
          literal(`${i === 0 ? operator : '&'}${name}=`);
          variable(notAmpersand);
        }
        break;
      default:
        variable(notSlash);
    }
    at = close + 1;
  }
  return steps;
}

/** Runs the steps over `uri` as an NFA (a set of positions in the steps per character): no backtracking. */
function runTemplate(steps: readonly TemplateStep[], uri: string): boolean {
  const end = steps.length;
  let current = new Set<number>([0]);
  /** A `repeat` step may also be passed over without a character. */
  const close = (states: Set<number>) => {
    for (const state of states) if (steps[state]?.kind === 'repeat') states.add(state + 1);
    return states;
  };
  close(current);
  for (const char of uri) {
    const next = new Set<number>();
    for (const state of current) {
      const step = steps[state];
      if (step === undefined) continue;
      if (step.kind === 'char') {
        if (step.char === char) next.add(state + 1);
      } else if (step.admits(char)) next.add(step.kind === 'repeat' ? state : state + 1);
    }
    if (next.size === 0) return false;
    current = close(next);
  }
  return current.has(end);
}
