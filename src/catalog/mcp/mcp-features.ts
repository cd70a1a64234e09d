import { createHash } from 'node:crypto';
import { UriTemplate } from '@modelcontextprotocol/client';
import type { ImportProblem } from '../../core/index.ts';
import { isPlainObject } from '../../core/index.ts';
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
    ...(typeof value['title'] === 'string' ? { title: value['title'].slice(0, nameMax) } : {}),
    ...(typeof value['description'] === 'string'
      ? { description: cleanDescription(value['description'], toolDescriptionMax) }
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

/** Compiled templates (at most `mcpFeaturesMax` per listing; the memo is emptied when it grows past 10,000). */
const compiledTemplates = new Map<string, UriTemplate | null>();

/** Whether `uri` is one of the URIs of an RFC 6570 `uriTemplate` (a template that does not parse matches nothing). */
export function matchesUriTemplate(uriTemplate: string, uri: string): boolean {
  let compiled = compiledTemplates.get(uriTemplate);
  if (compiled === undefined) {
    try {
      compiled = new UriTemplate(uriTemplate);
    } catch {
      compiled = null;
    }
    if (compiledTemplates.size >= 10_000) compiledTemplates.clear();
    compiledTemplates.set(uriTemplate, compiled);
  }
  if (compiled === null) return false;
  try {
    return compiled.match(uri) !== null;
  } catch {
    return false;
  }
}
