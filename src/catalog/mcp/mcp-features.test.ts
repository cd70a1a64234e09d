import { UriTemplate } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { matchesUriTemplate, transformMcpFeatures } from './mcp-features.ts';

const empty = { resources: [], resourceTemplates: [], prompts: [] };

describe('transformMcpFeatures()', () => {
  it('federated_title_bidi_unmarked: marks invisible and bidi characters of prompt and resource titles', () => {
    const features = transformMcpFeatures(
      {
        resources: [{ uri: 'docs://a', name: 'a', title: 'Q3 \u202Ecsv.exe', description: 'A\u200Bb' }],
        resourceTemplates: [],
        prompts: [{ name: 'p', title: 'Review\u2067 me' }],
      },
      'https://mcp.example.com/mcp',
    );
    expect(features.resources[0]).toMatchObject({ title: 'Q3 [U+202E]csv.exe', description: 'A[U+200B]b' });
    expect(features.prompts[0]).toMatchObject({ title: 'Review[U+2067] me' });
  });

  it('keeps the MCP fields of resources, templates and prompts, and nothing else', () => {
    const features = transformMcpFeatures(
      {
        resources: [
          {
            uri: 'docs://a',
            name: 'a',
            title: 'A',
            mimeType: 'text/plain',
            size: 12,
            annotations: { audience: ['user', 'robot'], priority: 0.5 },
            icons: [{ src: 'javascript:alert(1)' }],
          },
        ],
        resourceTemplates: [{ uriTemplate: 'issues://{id}', name: 'issue', description: 'An issue' }],
        prompts: [{ name: 'review.code', arguments: [{ name: 'lang', required: true, extra: 1 }] }],
      },
      'https://mcp.example.com/mcp',
    );
    expect(features.resources).toEqual([
      {
        uri: 'docs://a',
        name: 'a',
        title: 'A',
        mimeType: 'text/plain',
        size: 12,
        annotations: { audience: ['user'], priority: 0.5 },
      },
    ]);
    expect(features.resourceTemplates).toEqual([
      { uriTemplate: 'issues://{id}', name: 'issue', description: 'An issue' },
    ]);
    expect(features.prompts).toEqual([
      { key: 'review_code', name: 'review.code', arguments: [{ name: 'lang', required: true }] },
    ]);
    expect(features.problems).toEqual([]);
  });

  it('skips and reports entries without their required fields, bad prompt names and clashing keys', () => {
    const features = transformMcpFeatures(
      {
        resources: [{ name: 'no uri' }, { uri: `x://${'a'.repeat(3000)}`, name: 'long' }, 'text'],
        resourceTemplates: [{ uriTemplate: 'x://{id}' }],
        prompts: [{ name: 'has space' }, { name: 'a.b' }, { name: 'a_b' }, { name: 'p', arguments: [{}] }],
      },
      'src',
    );
    expect(features.resources).toEqual([]);
    expect(features.resourceTemplates).toEqual([]);
    expect(features.prompts.map((p) => p.name)).toEqual(['a.b']);
    expect(features.problems.map((p) => p.at)).toEqual([
      'resources[0]',
      'resources[1]',
      'resources[2]',
      'resourceTemplates[0]',
      'prompts[0]',
      'prompts[2]',
      'prompts[3]',
    ]);
    expect(features.problems[5]?.reason).toMatch(/maps to a_b/);
    expect(features.problems[6]?.reason).toMatch(/prompts\[3\]\.arguments\[0\]: name is missing/);
  });

  it('changes its id when the listing changes, and only then', () => {
    const one = transformMcpFeatures({ ...empty, prompts: [{ name: 'p' }] }, 'src');
    expect(transformMcpFeatures({ ...empty, prompts: [{ name: 'p' }] }, 'src').id).toBe(one.id);
    expect(transformMcpFeatures({ ...empty, prompts: [{ name: 'q' }] }, 'src').id).not.toBe(one.id);
    const completing = transformMcpFeatures({ ...empty, prompts: [{ name: 'p' }], completions: true }, 'src');
    expect([one.completions, completing.completions]).toEqual([false, true]);
    expect(completing.id).not.toBe(one.id);
  });
});

describe('matchesUriTemplate()', () => {
  it('matches the URIs of an RFC 6570 template and nothing else', () => {
    expect(matchesUriTemplate('test://template/{id}/data', 'test://template/123/data')).toBe(true);
    expect(matchesUriTemplate('test://template/{id}/data', 'test://template/123/other')).toBe(false);
    expect(matchesUriTemplate('issues://{id}', 'docs://1')).toBe(false);
  });

  it('decides as the SDK UriTemplate does, for each operator', () => {
    const templates = [
      'test://template/{id}/data',
      'file:///{+path}',
      'repo://{owner}/{repo}/issues{?state,page}',
      'search://q{?query}',
      'x://{a}.{b}',
      'x://host{/segment}',
      'x://host{/list*}',
      'x://{list*}',
      'x://{+a}{+b}!',
      'doc://{id}#{+frag}',
      'mail://{;params}',
      'api://items{.format}',
    ];
    const uris = [
      'test://template/123/data',
      'test://template/1/2/data',
      'file:///etc/hosts',
      'file:///',
      'repo://octo/cat/issues?state=open&page=2',
      'repo://octo/cat/issues?state=open',
      'search://q?query=a b',
      'search://q?query=',
      'x://one.two',
      'x://one,two.three',
      'x://host/seg',
      'x://host/a,b',
      'x://host/a/b',
      'x://a,b',
      'x://ab!',
      'x://a!',
      'doc://7#part/two',
      'mail://;x=1',
      'api://items.json',
      'api://items',
    ];
    for (const template of templates) {
      for (const uri of uris) {
        // The SDK's finer rule for exploded variables (no empty item between commas) is not kept.
        const sdk = new UriTemplate(template).match(uri) !== null;
        expect(matchesUriTemplate(template, uri), `${template} ~ ${uri}`).toBe(sdk);
      }
    }
  });

  it('federated_uri_template_redos: a template of many adjacent variables is matched in linear time', () => {
    const template = `x://${Array.from({ length: 12 }, (_, i) => `{+v${i}}`).join('')}!`;
    const started = Date.now();
    expect(matchesUriTemplate(template, `x://${'a'.repeat(60)}`)).toBe(false);
    expect(matchesUriTemplate(template, `x://${'a'.repeat(2_000)}!`)).toBe(true);
    expect(matchesUriTemplate(`${'{a}'.repeat(500)}!`, 'b'.repeat(8_000))).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
