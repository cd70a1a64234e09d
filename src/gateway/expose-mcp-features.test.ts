import { describe, expect, it } from 'vitest';
import { transformMcpFeatures } from '../catalog/index.ts';
import { exposeMcpFeatures, resourcesNameOf } from './expose-mcp-features.ts';

const features = transformMcpFeatures(
  {
    resources: [{ uri: 'docs://a', name: 'a' }],
    resourceTemplates: [{ uriTemplate: 'issues://{id}', name: 'issue' }],
    prompts: [{ name: 'summarize' }, { name: 'review.code' }],
  },
  'src',
);
const services = [{ id: 'openapi' }, { id: 'linear', features }, { id: 'jira', features }];
const toolset = { tools: ['*'], exclude: [] as string[], unprefixed: [] as string[] };

describe('exposeMcpFeatures()', () => {
  it('names prompts like tools and a service resources {service}_resources', () => {
    const exposed = exposeMcpFeatures(toolset, services, 'at');
    expect([...exposed.prompts.keys()]).toEqual([
      'linear_summarize',
      'linear_review_code',
      'jira_summarize',
      'jira_review_code',
    ]);
    expect(exposed.resourceServices.map((s) => [s.service, s.name])).toEqual([['linear', 'linear_resources']]);
    expect(exposed.declares).toEqual({ resources: true, prompts: true, completions: false });
    expect(resourcesNameOf('linear')).toBe('linear_resources');
  });

  it('federated_resource_uri_listed_twice: a URI (or template) two services list is listed once, by the first', () => {
    // Reads of a URI go to the first service in config order that lists it: the second's entry was listed, never read.
    const exposed = exposeMcpFeatures(toolset, services, 'at');
    const listed = exposed.resourceServices.flatMap((s) => s.resources.map((r) => `${s.service} ${r.uri}`));
    expect(listed).toEqual(['linear docs://a']);
    const templates = exposed.resourceServices.flatMap((s) =>
      s.resourceTemplates.map((t) => `${s.service} ${t.uriTemplate}`),
    );
    expect(templates).toEqual(['linear issues://{id}']);
    // A later service with nothing of its own left serves no resources at all.
    expect(exposed.resourceServices.map((s) => s.service)).toEqual(['linear']);
    const other = transformMcpFeatures(
      {
        resources: [
          { uri: 'docs://a', name: 'a' },
          { uri: 'docs://b', name: 'b' },
        ],
        resourceTemplates: [],
        prompts: [],
      },
      'src',
    );
    const both = exposeMcpFeatures(
      toolset,
      [
        { id: 'linear', features },
        { id: 'wiki', features: other },
      ],
      'at',
    );
    expect(both.resourceServices.flatMap((s) => s.resources.map((r) => `${s.service} ${r.uri}`))).toEqual([
      'linear docs://a',
      'wiki docs://b',
    ]);
  });

  it('applies the toolset tools and exclude globs to those names', () => {
    const exposed = exposeMcpFeatures(
      { ...toolset, tools: ['linear_*'], exclude: ['linear_resources', 'linear_review*'] },
      services,
      'at',
    );
    expect([...exposed.prompts.keys()]).toEqual(['linear_summarize']);
    expect(exposed.resourceServices).toEqual([]);
    expect(exposed.declares).toEqual({ resources: false, prompts: true, completions: false });
  });

  it('exposes an unprefixed service prompts by their own names; a clash is a config error naming both', () => {
    const exposed = exposeMcpFeatures({ ...toolset, unprefixed: ['linear'] }, services, 'at');
    expect([...exposed.prompts.keys()]).toContain('review_code');
    // Resources keep their one prefixed name, unprefixed or not.
    expect(exposed.resourceServices.map((s) => s.name)).toContain('linear_resources');
    expect(() =>
      exposeMcpFeatures({ ...toolset, unprefixed: ['linear', 'jira'] }, services, 'tenants[0].toolsets[0]'),
    ).toThrow(
      'tenants[0].toolsets[0]: prompt summarize of service jira and prompt summarize of service linear would both be named summarize',
    );
  });

  it('declares completions only when a prompt or resource it exposes is of a server that completes', () => {
    const completing = transformMcpFeatures(
      {
        resources: [],
        resourceTemplates: [{ uriTemplate: 'tickets://{id}', name: 't' }],
        prompts: [{ name: 'draft' }],
        completions: true,
      },
      'other',
    );
    const all = [...services, { id: 'zendesk', features: completing }];
    expect(exposeMcpFeatures(toolset, all, 'at').declares.completions).toBe(true);
    expect(exposeMcpFeatures({ ...toolset, tools: ['zendesk_draft'] }, all, 'at').declares).toEqual({
      resources: false,
      prompts: true,
      completions: true,
    });
    expect(exposeMcpFeatures({ ...toolset, tools: ['zendesk_resources'] }, all, 'at').declares.completions).toBe(true);
    expect(exposeMcpFeatures({ ...toolset, exclude: ['zendesk_*'] }, all, 'at').declares.completions).toBe(false);
    expect(exposeMcpFeatures(toolset, all, 'at').prompts.get('zendesk_draft')?.completions).toBe(true);
    expect(exposeMcpFeatures(toolset, all, 'at').prompts.get('linear_summarize')?.completions).toBe(false);
  });
});
