import { describe, expect, it } from 'vitest';
import { acceptsEventStream, acceptsJson, readFastToolCall } from './read-fast-tool-call.ts';

const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { a: 1 } } };
const json = { accept: 'application/json, text/event-stream' };

describe('readFastToolCall()', () => {
  it('takes a plain 2025-era tools/call', () => {
    expect(readFastToolCall(call, json)).toEqual({ id: 7, name: 'echo', args: { a: 1 }, era: 'legacy' });
    expect(readFastToolCall({ ...call, id: 'x' }, { ...json, 'mcp-protocol-version': '2025-11-25' })?.id).toBe('x');
    expect(readFastToolCall({ ...call, params: { name: 'echo' } }, {})?.args).toEqual({});
    expect(readFastToolCall({ ...call, params: { ...call.params, _meta: { traceparent: 'x' } } }, json)).toBeDefined();
  });

  it('takes a plain 2026-07-28 tools/call whose headers match its envelope', () => {
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
    };
    const modern = { ...call, params: { ...call.params, _meta: meta } };
    const headers = { ...json, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo' };
    expect(readFastToolCall(modern, headers)).toEqual({ id: 7, name: 'echo', args: { a: 1 }, meta, era: 'modern' });
    expect(readFastToolCall(modern, { ...headers, 'mcp-name': 'other' })).toBeUndefined();
  });

  it.each([
    ['a batch', [call], json],
    ['a notification', { jsonrpc: '2.0', method: 'tools/call', params: call.params }, json],
    ['another method', { ...call, method: 'tools/list' }, json],
    ['a fractional id', { ...call, id: 1.5 }, json],
    ['a wrong jsonrpc version', { ...call, jsonrpc: '1.0' }, json],
    ['an extra member', { ...call, extra: true }, json],
    ['a task augmentation', { ...call, params: { ...call.params, task: {} } }, json],
    [
      'a progress token (progress is streamed)',
      { ...call, params: { ...call.params, _meta: { progressToken: 1 } } },
      json,
    ],
    ['non-object arguments', { ...call, params: { name: 'echo', arguments: [1] } }, json],
    ['null arguments', { ...call, params: { name: 'echo', arguments: null } }, json],
    ['a missing name', { ...call, params: { arguments: {} } }, json],
    [
      'a 2026-07-28 envelope claim',
      { ...call, params: { ...call.params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } },
      json,
    ],
    ['a modern protocol header', call, { ...json, 'mcp-protocol-version': '2026-07-28' }],
    ['an unknown protocol header', call, { ...json, 'mcp-protocol-version': '1999-01-01' }],
    ['an SSE-only Accept', call, { accept: 'text/event-stream' }],
  ])('leaves %s to the SDK', (_name, body, headers) => {
    expect(readFastToolCall(body, headers)).toBeUndefined();
  });
});

describe('Accept negotiation', () => {
  it('reads JSON and SSE acceptance', () => {
    expect(acceptsJson(undefined)).toBe(true);
    expect(acceptsJson('*/*')).toBe(true);
    expect(acceptsJson('text/event-stream')).toBe(false);
    expect(acceptsEventStream('text/event-stream')).toBe(true);
    expect(acceptsEventStream('application/json')).toBe(false);
  });
});
