import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import type { CallOutcome } from '../gateway/index.ts';
import { serializeToolCallResponse } from './serialize-tool-call-response.ts';
import { toCallToolResult } from './to-call-tool-result.ts';

const sdkForm = (id: string | number, outcome: CallOutcome): string =>
  JSON.stringify({ result: toCallToolResult(outcome), jsonrpc: '2.0', id });

describe('serializeToolCallResponse', () => {
  const value = { id: 'item-42', name: 'quote " backslash \\ line\n', tags: ['a', 'é', '\u2028'], n: 1.5, z: null };
  const json = JSON.stringify(value);

  it('splices structuredJson into exactly the bytes the serialising path writes', () => {
    const spliced: CallOutcome = { ok: true, structuredContent: value, text: json, structuredJson: json };
    const plain: CallOutcome = { ok: true, structuredContent: value, text: json };
    for (const id of [7, 'req-"1"']) {
      expect(serializeToolCallResponse(id, 'tool', spliced)).toBe(sdkForm(id, plain));
    }
  });

  it('equals the serialising path in meaning when the upstream text has other whitespace', () => {
    const spaced = '{ "id": "item-42", "n": 1.50 }';
    const outcome: CallOutcome = {
      ok: true,
      structuredContent: JSON.parse(spaced) as Record<string, unknown>,
      text: spaced,
      structuredJson: spaced,
    };
    expect(JSON.parse(serializeToolCallResponse(1, 'tool', outcome))).toEqual(JSON.parse(sdkForm(1, outcome)));
  });

  it('serialises outcomes without structuredJson and tool errors as the SDK path does', () => {
    const plain: CallOutcome = { ok: true, text: 'hello' };
    expect(serializeToolCallResponse(1, 'tool', plain)).toBe(sdkForm(1, plain));
    const failed: CallOutcome = {
      ok: false,
      error: new GatehouseError('upstream_timeout', 'Upstream timed out', { origin: 'http://x' }),
    };
    expect(serializeToolCallResponse('a', 'tool', failed)).toBe(sdkForm('a', failed));
  });

  it('answers an unknown tool with the JSON-RPC invalid params error', () => {
    const outcome: CallOutcome = { ok: false, error: new GatehouseError('tool_not_found', 'Unknown tool: x') };
    expect(JSON.parse(serializeToolCallResponse(3, 'x', outcome))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      error: { code: -32602, message: 'Unknown tool: x' },
    });
  });
});
