import {
  type McpFeatures,
  type McpPrompt,
  type McpResource,
  type McpResourceTemplate,
  toToolName,
  toUnprefixedToolName,
} from '../catalog/index.ts';
import { GatehouseError, type ToolsetConfig } from '../core/index.ts';
import { matchToolGlob } from '../policy/index.ts';

/** A federated prompt as one toolset lists it: under `name` (`{service}_{prompt}`, or unprefixed). */
export interface ExposedPrompt {
  readonly name: string;
  readonly service: string;
  readonly prompt: McpPrompt;
  /** Its server answers `completion/complete`. */
  readonly completions: boolean;
}

/** What of its federated services' resources and prompts a toolset exposes (none when it has no `mcp:` service). */
export interface ExposedFeatures {
  /** Prompts by the name the toolset lists them under. */
  readonly prompts: ReadonlyMap<string, ExposedPrompt>;
  /**
   * Services whose resources the toolset reaches, in config order, with their allow-list name
   * (`resourcesNameOf`) and what their servers list.
   */
  readonly resourceServices: readonly {
    readonly service: string;
    readonly name: string;
    readonly resources: readonly McpResource[];
    readonly resourceTemplates: readonly McpResourceTemplate[];
    /** Its server answers `completion/complete`. */
    readonly completions: boolean;
  }[];
  /**
   * Whether the toolset reaches any resource or prompt, and any of a server that completes (the capabilities it
   * declares to clients).
   */
  readonly declares: { readonly resources: boolean; readonly prompts: boolean; readonly completions: boolean };
}

/**
 * The name under which a toolset's allow-lists (`tools`, `exclude`) and result budgets (`results.toolBudgets`) match
 * the resources of a federated service: `{service}_resources`, always prefixed (resource URIs are the server's own
 * and are never renamed, so only this one name stands for all of them).
 */
export function resourcesNameOf(service: string): string {
  return toToolName(service, 'resources');
}

/**
 * The resources and prompts of the tenant's `mcp:` services that a toolset exposes. A prompt is named like a tool
 * (`{service}_{prompt}`, or its own name when the toolset lists the service in `unprefixed`) and is exposed when that
 * name passes the toolset's `tools` and `exclude` globs; a service's resources (listed ones, templates and reads)
 * when `{service}_resources` does. Both are reads and are exposed whatever the toolset's `access`. Two prompts that
 * would share a name are a config error naming both (at `at`, the toolset's path). `completion/complete` reaches
 * exactly these prompts and resources, on the servers that declare `completions`.
 */
export function exposeMcpFeatures(
  toolset: Pick<ToolsetConfig, 'tools' | 'exclude' | 'unprefixed'>,
  services: readonly { readonly id: string; readonly features?: McpFeatures }[],
  at: string,
): ExposedFeatures {
  const included = matchToolGlob(toolset.tools);
  const excluded = matchToolGlob(toolset.exclude);
  const allows = (name: string) => included(name) && !excluded(name);
  const bare = new Set(toolset.unprefixed);
  const prompts = new Map<string, ExposedPrompt>();
  const resourceServices: ExposedFeatures['resourceServices'][number][] = [];
  const listedUris = new Set<string>();
  const listedTemplates = new Set<string>();
  for (const { id, features } of services) {
    if (features === undefined) continue;
    for (const prompt of features.prompts) {
      const name = bare.has(id) ? toUnprefixedToolName(prompt.key) : toToolName(id, prompt.key);
      if (!allows(name)) continue;
      const other = prompts.get(name);
      if (other !== undefined) {
        throw new GatehouseError(
          'config_invalid',
          `${at}: prompt ${prompt.name} of service ${id} and prompt ${other.prompt.name} of service ${other.service} ` +
            `would both be named ${name}; prefix one of the services`,
          { path: at, prompt: name },
        );
      }
      prompts.set(name, Object.freeze({ name, service: id, prompt, completions: features.completions }));
    }
    const name = resourcesNameOf(id);
    if (!allows(name)) continue;
    // URIs are the servers' own and never renamed: a read goes to the first service in config order that lists the
    // URI (or template), so a later service's entry for it is not listed, where it could never be read
    // (federated_resource_uri_listed_twice).
    const resources = features.resources.filter((resource) => !listedUris.has(resource.uri));
    const resourceTemplates = features.resourceTemplates.filter((t) => !listedTemplates.has(t.uriTemplate));
    for (const resource of resources) listedUris.add(resource.uri);
    for (const template of resourceTemplates) listedTemplates.add(template.uriTemplate);
    if (resources.length > 0 || resourceTemplates.length > 0) {
      resourceServices.push(
        Object.freeze({ service: id, name, resources, resourceTemplates, completions: features.completions }),
      );
    }
  }
  return Object.freeze({
    prompts,
    resourceServices: Object.freeze(resourceServices),
    declares: {
      resources: resourceServices.length > 0,
      prompts: prompts.size > 0,
      completions:
        resourceServices.some((s) => s.completions) || [...prompts.values()].some((prompt) => prompt.completions),
    },
  });
}
