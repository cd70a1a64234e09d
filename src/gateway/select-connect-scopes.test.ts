import { describe, expect, it } from 'vitest';
import { collectRequiredScopes, expandScopes } from '../policy/index.ts';
import { selectConnectScopes } from './select-connect-scopes.ts';

function policyNeeding(needed: readonly string[], implies: Record<string, string[]> = {}) {
  return {
    requiredScopesOf: () => needed,
    heldScopesOf: (_service: string, granted: readonly string[]) => expandScopes(granted, implies),
  };
}

describe('selectConnectScopes', () => {
  it('asks for the needed scopes the configuration holds, not the others', () => {
    expect(selectConnectScopes(policyNeeding(['a:read']), 's', ['a:read', 'a:write', 'admin'])).toEqual(['a:read']);
  });

  it('slack_private_channels: listed scopes put every equal alternative on a tool-minted link, catalogue ones the first', () => {
    // Slack's read tools accept [channels:read] or [groups:read] (the policy keeps the alternatives within the ceiling).
    const tools = [
      [['channels:read'], ['groups:read']],
      [['channels:history'], ['groups:history']],
    ];
    const configured = ['channels:read', 'channels:history', 'groups:read', 'groups:history'];
    const listed = collectRequiredScopes(tools, {}, true);
    expect(selectConnectScopes(policyNeeding(listed), 's', configured)).toEqual([
      'channels:history',
      'channels:read',
      'groups:history',
      'groups:read',
    ]);
    const fromCatalogue = collectRequiredScopes(tools, {});
    expect(selectConnectScopes(policyNeeding(fromCatalogue), 's', configured)).toEqual([
      'channels:history',
      'channels:read',
    ]);
  });

  it('keeps configured openid/offline_access (refresh tokens)', () => {
    expect(selectConnectScopes(policyNeeding(['a:read']), 's', ['offline_access', 'a:read', 'a:write'])).toEqual([
      'a:read',
      'offline_access',
    ]);
  });

  it('salesforce_refresh_token_dropped: keeps the provider refresh scope on every link', () => {
    expect(selectConnectScopes(policyNeeding(['api']), 's', ['api', 'refresh_token', 'full'], 'refresh_token')).toEqual(
      ['api', 'refresh_token'],
    );
    // A refresh scope the configured ceiling does not hold is not added.
    expect(selectConnectScopes(policyNeeding(['api']), 's', ['api', 'full'], 'refresh_token')).toEqual(['api']);
    // With a refresh scope of its own, offline_access is no longer assumed to be one.
    expect(selectConnectScopes(policyNeeding(['a']), 's', ['a', 'offline_access'], 'offline.access')).toEqual(['a']);
  });

  it('asks for the configured broader scope when only it covers a needed one', () => {
    const policy = policyNeeding(['public_repo', 'read:org'], { repo: ['public_repo'] });
    expect(selectConnectScopes(policy, 's', ['repo', 'read:org', 'gist'])).toEqual(['repo', 'read:org']);
  });

  it('does not ask for a needed scope the configuration does not cover', () => {
    expect(selectConnectScopes(policyNeeding(['a:read', 'b:write']), 's', ['a:read'])).toEqual(['a:read']);
  });

  it('falls back to the configured scopes when the tools declare none or none is covered', () => {
    expect(selectConnectScopes(policyNeeding([]), 's', ['x'])).toEqual(['x']);
    expect(selectConnectScopes(policyNeeding(['y']), 's', ['x'])).toEqual(['x']);
  });

  it('without configured scopes asks for exactly the needed ones', () => {
    expect(selectConnectScopes(policyNeeding(['a:read', 'b:read']), 's', [])).toEqual(['a:read', 'b:read']);
  });
});
