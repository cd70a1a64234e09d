import { describe, expect, it } from 'vitest';
import { decideLinkOpener, describeLinkOpener, type LinkOpener } from './decide-link-opener.ts';

const alice = { id: 'usr_alice', tenant: 'acme', name: 'alice', displayName: 'Alice' };
const mallory = { id: 'usr_mallory', tenant: 'acme', name: 'mallory', displayName: 'Mallory' };
const nobody: LinkOpener = { admin: false };
const strict = { linkAloneConnects: false, confirmed: false };

describe('decideLinkOpener()', () => {
  it("opens a user's link only in that user's signed-in browser", () => {
    expect(decideLinkOpener('usr_alice', alice, { user: alice, admin: false }, strict)).toEqual({ kind: 'open' });
    expect(decideLinkOpener('usr_alice', alice, nobody, strict)).toEqual({ kind: 'sign_in', as: 'user' });
    expect(decideLinkOpener('usr_alice', alice, { user: mallory, admin: true }, strict)).toEqual({
      kind: 'refused',
      reason: 'other_user',
    });
    // The operator is not alice either, and the opt-out does not apply to a user's link.
    expect(decideLinkOpener('usr_alice', alice, { admin: true }, { ...strict, linkAloneConnects: true })).toEqual({
      kind: 'refused',
      reason: 'other_user',
    });
  });

  it("asks an owner/admin to confirm a subject that is no user's, and refuses anyone else", () => {
    expect(decideLinkOpener('kate', undefined, nobody, strict)).toEqual({ kind: 'sign_in', as: 'admin' });
    expect(decideLinkOpener('kate', undefined, { user: mallory, admin: false }, strict)).toEqual({
      kind: 'refused',
      reason: 'not_admin',
    });
    expect(decideLinkOpener('kate', undefined, { user: mallory, admin: true }, strict)).toEqual({ kind: 'confirm' });
    expect(decideLinkOpener('shared', undefined, { admin: true }, { ...strict, confirmed: true })).toEqual({
      kind: 'open',
    });
  });

  it("connectLinks.unsafeLinkAloneConnects opens a link for a subject that is no user's to whoever holds it", () => {
    expect(decideLinkOpener('kate', undefined, nobody, { ...strict, linkAloneConnects: true })).toEqual({
      kind: 'open',
    });
  });
});

describe('describeLinkOpener()', () => {
  it('names the person decideLinkOpener lets open the link', () => {
    expect(describeLinkOpener('acme', 'usr_alice', alice, true)).toBe('alice, signed in to the gateway,');
    expect(describeLinkOpener('acme', 'kate', undefined, false)).toBe(
      'an owner or admin of tenant acme (signed in to the gateway; they confirm that the connection serves kate)',
    );
    expect(describeLinkOpener('acme', 'shared', undefined, false)).toContain(
      'serves everyone using the shared connection',
    );
    expect(describeLinkOpener('acme', 'kate', undefined, true)).toBe('the user');
  });
});
