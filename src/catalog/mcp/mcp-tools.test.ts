import { describe, expect, it } from 'vitest';
import { transformMcpTools } from './mcp-tools.ts';

const object = { type: 'object', properties: {} };

describe('transformMcpTools()', () => {
  it('keeps schemas and hints as listed, calls the tool by its own name, and never classes a tool safe', () => {
    const catalog = transformMcpTools(
      [
        {
          name: 'issues.search',
          title: 'Search issues',
          description: 'Finds issues',
          inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
          outputSchema: { type: 'object', properties: { total: { type: 'number' } } },
          annotations: { readOnlyHint: true },
        },
        { name: 'issue_close', inputSchema: object, annotations: { destructiveHint: false } },
        { name: 'issue_delete', inputSchema: object },
      ],
      'https://mcp.example.com/mcp',
    );
    expect(catalog.problems).toEqual([]);
    const [search, close, remove] = catalog.tools;
    expect(search?.key).toBe('issues_search');
    expect(search?.request.mcp).toEqual({ tool: 'issues.search' });
    expect(search?.inputSchema).toEqual({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] });
    expect(search?.outputSchema).toEqual({ type: 'object', properties: { total: { type: 'number' } } });
    expect(search?.annotations).toEqual({
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    // readOnlyHint is a hint: the class is write until a toolset's safety override says otherwise.
    expect(search?.safety).toBe('write');
    expect(close?.safety).toBe('write');
    // No hints: the MCP defaults (destructive) apply.
    expect(remove?.safety).toBe('destructive');
    expect(catalog.baseUrl).toBe('https://mcp.example.com/mcp');
  });

  it('skips tools with invalid names or schemas and names sharing a key, reporting each', () => {
    const catalog = transformMcpTools(
      [
        { name: 'bad name!', inputSchema: object },
        { name: 'no_schema' },
        { name: 'array_schema', inputSchema: { type: 'array' } },
        { name: 'a.b', inputSchema: object },
        { name: 'a_b', inputSchema: object },
        { name: 42 as unknown as string, inputSchema: object },
      ],
      'https://mcp.example.com/mcp',
    );
    expect(catalog.tools.map((tool) => tool.operation)).toEqual(['a.b']);
    expect(catalog.problems).toEqual([
      { at: 'bad name!', reason: 'invalid tool name: expected 1-128 characters of A-Z a-z 0-9 _ - .' },
      { at: 'no_schema', reason: 'inputSchema is not a JSON Schema of type object' },
      { at: 'array_schema', reason: 'inputSchema is not a JSON Schema of type object' },
      { at: 'a_b', reason: 'its name maps to a_b, as tool a.b does' },
      { at: 'tools[5]', reason: 'invalid tool name: expected 1-128 characters of A-Z a-z 0-9 _ - .' },
    ]);
  });

  it('federated_title_bidi_unmarked: marks invisible and bidi characters of a remote title and description', () => {
    const catalog = transformMcpTools(
      [
        {
          name: 'export',
          title: 'Export report\u202Efdp.exe',
          description: 'Sends\u200B the file\u2066 to\u2069 the team\nsecond line',
          inputSchema: object,
        },
      ],
      'https://x.example/mcp',
    );
    const tool = catalog.tools[0];
    // Shown by a client's tool list or approval prompt, `report\u202Efdp.exe` reads as `reportexe.pdf`.
    expect(tool?.title).toBe('Export report[U+202E]fdp.exe');
    expect(tool?.description).toBe('Sends[U+200B] the file[U+2066] to[U+2069] the team\nsecond line');
  });

  it('gives equal listings the same id and different listings different ids', () => {
    const one = transformMcpTools([{ name: 'a', inputSchema: object }], 'https://x.example/mcp');
    const same = transformMcpTools([{ name: 'a', inputSchema: object }], 'https://x.example/mcp');
    const other = transformMcpTools([{ name: 'b', inputSchema: object }], 'https://x.example/mcp');
    expect(same.id).toBe(one.id);
    expect(other.id).not.toBe(one.id);
  });
});
