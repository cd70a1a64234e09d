import { CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { type ErrorCode, GatehouseError } from '../core/index.ts';
import type { CallOutcome } from '../gateway/index.ts';
import { toUrlElicitationError } from './to-url-elicitation-error.ts';
import { declinedUrlInputs, toUrlInputRequired } from './to-url-input-required.ts';

const modern = {
  [PROTOCOL_VERSION_META_KEY]: '2026-07-28',
  [CLIENT_CAPABILITIES_META_KEY]: { elicitation: { url: {} } },
};
const legacy = { [CLIENT_CAPABILITIES_META_KEY]: { elicitation: { url: {} } } };
const failed = (code: ErrorCode, message: string, details: Record<string, string>): CallOutcome => ({
  ok: false,
  error: new GatehouseError(code, message, details),
});

const link = 'https://gw.example/connect/acme.x?sig=y';
const stepUp = failed(
  'upstream_insufficient_scope',
  'Server docs needs write. Ask the user to open https://gw.example/connect/acme.z?sig=w to grant write',
  { service: 'docs', stepUpUrl: 'https://gw.example/connect/acme.z?sig=w' },
);

describe('toUrlInputRequired (2026-07-28) and toUrlElicitationError (2025) share one elicitation per outcome', () => {
  it.each([
    [
      'connection_required',
      failed('connection_required', 'Service res is not connected. Ask the user to open it', {
        service: 'res',
        connectUrl: link,
      }),
      link,
    ],
    [
      'reauth_required',
      failed('reauth_required', 'The connection to res must be authorised again', { service: 'res', connectUrl: link }),
      link,
    ],
    ['upstream_insufficient_scope (step-up)', stepUp, 'https://gw.example/connect/acme.z?sig=w'],
  ])('%s: one connect elicitation to the link, with the tool error’s message, in both eras', (_case, outcome, url) => {
    const message = outcome.ok ? '' : outcome.error.message;
    expect(toUrlInputRequired(outcome, modern)).toEqual({
      resultType: 'input_required',
      inputRequests: { connect: { method: 'elicitation/create', params: { mode: 'url', message, url } } },
    });
    expect(toUrlElicitationError(outcome, legacy)?.data.elicitations).toEqual([
      { mode: 'url', elicitationId: expect.any(String), url, message },
    ]);
    // Each era only answers its own requests.
    expect(toUrlInputRequired(outcome, legacy)).toBeUndefined();
    expect(toUrlElicitationError(outcome, modern)).toBeUndefined();
  });

  it('an approval keeps its key and names its request in requestState', () => {
    const outcome = failed('approval_required', 'needs approval', {
      tool: 'open_deleteItem',
      approvalId: 'apr_1',
      approvalUrl: 'https://gw.example/approvals/apr_1?tenant=acme&sig=z',
    });
    expect(toUrlInputRequired(outcome, modern)).toMatchObject({
      inputRequests: {
        approval: { params: { mode: 'url', url: 'https://gw.example/approvals/apr_1?tenant=acme&sig=z' } },
      },
      requestState: 'apr_1',
    });
  });

  it('no elicitation without a link, without the declaration, or after the user declined that key', () => {
    expect(toUrlInputRequired(failed('connection_required', 'no link', { service: 'res' }), modern)).toBeUndefined();
    expect(toUrlInputRequired(stepUp, { [PROTOCOL_VERSION_META_KEY]: '2026-07-28' })).toBeUndefined();
    expect(toUrlInputRequired(stepUp, modern, new Set(['connect']))).toBeUndefined();
    expect(toUrlInputRequired(stepUp, modern, new Set(['approval']))).toBeDefined();
  });

  it('declinedUrlInputs reads declined and cancelled answers, not accepted ones', () => {
    expect([...declinedUrlInputs({ connect: { action: 'decline' }, approval: { action: 'accept' } })]).toEqual([
      'connect',
    ]);
    expect([...declinedUrlInputs({ approval: { action: 'cancel' } })]).toEqual(['approval']);
    expect(declinedUrlInputs(undefined).size).toBe(0);
  });
});
