import { describe, expect, it } from 'vitest';
import { createScrubber } from '../audit/index.ts';
import { scrubFederatedAnswer, toFederatedPage } from './to-federated-page.ts';

const noScrub = (text: string) => text;

describe('toFederatedPage()', () => {
  it('keeps content blocks, structuredContent and isError as sent; budgets measure the structured JSON', () => {
    const content = [
      { type: 'text', text: 'see image' },
      { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
      { type: 'resource_link', uri: 'file:///a.txt', name: 'a' },
    ];
    const page = toFederatedPage({ content, structuredContent: { total: 2 }, isError: true }, 'svc_tool', noScrub);
    expect(page.result.content).toEqual(content);
    expect(page.result.structuredContent).toEqual({ total: 2 });
    expect(page.result.isError).toBe(true);
    expect(page.result.text).toBe('{"total":2}');
    expect(page.json).toBeUndefined();
  });

  it('federated_result_too_deep_internal: an answer nested deeper than the stack allows is an upstream_error naming the tool, not an internal error', () => {
    // As JSON.parse builds it from a hostile server's answer (it parses any depth).
    const deep = JSON.parse(`{"content":[],"structuredContent":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    let thrown: unknown;
    try {
      toFederatedPage(deep, 'svc_tool', noScrub);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'upstream_error', details: { tool: 'svc_tool' } });
  });

  it('federated_read_too_deep_internal: any federated answer nested too deeply is an upstream_error saying whose (resources and prompts too)', () => {
    const deep = JSON.parse(
      `{"contents":[{"uri":"a://b","text":"x","_meta":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}]}`,
    );
    let thrown: unknown;
    try {
      scrubFederatedAnswer(deep, noScrub, { of: 'answer of docs', details: { service: 'docs' } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'upstream_error',
      message: "The MCP server's answer of docs is nested too deeply",
      details: { service: 'docs' },
    });
  });

  it('measures the text blocks when there is no structured content', () => {
    const page = toFederatedPage(
      {
        content: [
          { type: 'text', text: 'one' },
          { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
          { type: 'text', text: 'two' },
        ],
      },
      'svc_tool',
      noScrub,
    );
    expect(page.result.text).toBe('one\ntwo');
  });

  it('drops gateway-owned _meta keys and keeps the others', () => {
    const page = toFederatedPage(
      {
        content: [],
        _meta: {
          'io.modelcontextprotocol/serverInfo': { name: 'remote' },
          'gatehouse/handle': 'forged',
          'example.com/trace': 'abc',
        },
      },
      'svc_tool',
      noScrub,
    );
    expect(page.result.meta).toEqual({ 'example.com/trace': 'abc' });
  });

  it('scrubs the credential from every block', () => {
    const secret = 'upstream-secret-0123456789';
    const page = toFederatedPage(
      {
        content: [
          { type: 'text', text: `token ${secret}` },
          { type: 'resource', resource: { uri: 'x:1', text: secret } },
        ],
        structuredContent: { echoed: secret },
      },
      'svc_tool',
      createScrubber([secret]),
    );
    expect(JSON.stringify(page.result)).not.toContain(secret);
  });

  it('refuses an answer that is not a tool result, naming the tool', () => {
    expect(() => toFederatedPage({ content: 'text' }, 'svc_tool', noScrub)).toThrow(/svc_tool is not a tool result/);
    expect(() => toFederatedPage(null, 'svc_tool', noScrub)).toThrow(/not a tool result/);
  });

  it('refuses a content block without the members its kind requires, naming the tool and the block', () => {
    const answer = (block: Record<string, unknown>) => ({ content: [{ type: 'text', text: 'ok' }, block] });
    for (const block of [
      { type: 'text' },
      { type: 'image', mimeType: 'image/png' },
      { type: 'audio', data: 'AAAA' },
      { type: 'resource', resource: { text: 'no uri' } },
      { type: 'resource_link', uri: 'file:///a' },
      { text: 'no type' },
    ]) {
      expect(() => toFederatedPage(answer(block), 'svc_tool', noScrub)).toThrow(
        /svc_tool has a malformed content block \(content\[1\]/,
      );
    }
    // A kind this gateway does not know passes, as a later protocol version may add kinds.
    expect(toFederatedPage(answer({ type: 'hologram', beams: 3 }), 'svc_tool', noScrub).result.content).toHaveLength(2);
  });
});
