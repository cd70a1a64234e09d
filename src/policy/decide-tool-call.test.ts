import { describe, expect, it } from 'vitest';
import { type GatehouseError, type NamedTool, parseConfig, type Tool, type ToolSafety } from '../core/index.ts';
import { decideToolCall } from './decide-tool-call.ts';
import { compileToolsetPolicy } from './toolset-policy.ts';

function named(name: string, safety: ToolSafety, scopes: string[][] = []): NamedTool {
  const tool = {
    key: name,
    operation: name,
    title: name,
    description: name,
    inputSchema: { type: 'object', properties: { id: { type: 'string' } } },
    annotations: {
      readOnlyHint: safety === 'safe',
      destructiveHint: safety === 'destructive',
      idempotentHint: false,
      openWorldHint: true,
    },
    safety,
    scopes,
    tags: [],
    request: { method: 'GET', pathTemplate: '/', parameters: [] },
  } as unknown as Tool;
  return { name, service: 'mail', tool };
}

const tenantTools = new Map(
  [
    named('mail_read', 'safe', [['mail.read']]),
    named('mail_search', 'write', [['mail.read']]),
    named('mail_send', 'write', [['mail.send'], ['mail.admin']]),
    named('mail_purge', 'destructive', [['mail.admin']]),
    named('mail_ping', 'safe'),
  ].map((t) => [t.name, t] as const),
);

function toolset(raw: Record<string, unknown>) {
  const config = parseConfig({ tenants: [{ id: 't', toolsets: [{ id: 's', ...raw }] }] }, { env: {} });
  return compileToolsetPolicy(config.tenants[0]!.toolsets[0]!, tenantTools, {
    scopeImplies: new Map([['mail', { 'mail.admin': ['mail.read', 'mail.send'] }]]),
  });
}

function denial(run: () => unknown): { code: string; details: Record<string, unknown> } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return { code: (error as GatehouseError).code, details: (error as GatehouseError).details };
  }
}

describe('decideToolCall', () => {
  it('SC-01 a tool needing a scope outside the toolset is withheld and denied naming the scope', () => {
    const policy = toolset({ access: 'write', policy: { scopes: ['mail.read', 'mail.send'] } });
    expect([...policy.tools.keys()].sort()).toEqual(['mail_ping', 'mail_read', 'mail_search', 'mail_send']);
    expect(denial(() => decideToolCall(policy, { name: 'mail_purge', args: {} }))).toEqual({
      code: 'scope_missing',
      details: { tool: 'mail_purge', toolset: 's', missingScopes: ['mail.admin'], reason: 'toolset' },
    });
    // Only the alternatives inside the toolset's scopes count: mail.admin would cover send, but is not allowed.
    expect(policy.rules.get('mail_send')?.scopes).toEqual([['mail.send']]);
    expect(policy.requiredScopesOf('mail')).toEqual(['mail.read', 'mail.send']);
  });

  it("a tool its service's configured scopes cannot cover is withheld before any connection, denied naming them", () => {
    const config = parseConfig({ tenants: [{ id: 't', toolsets: [{ id: 's', access: 'write' }] }] }, { env: {} });
    const policy = compileToolsetPolicy(config.tenants[0]!.toolsets[0]!, tenantTools, {
      scopeImplies: new Map([['mail', { 'mail.admin': ['mail.read', 'mail.send'] }]]),
      serviceScopes: new Map([['mail', ['mail.read']]]),
    });
    // A connect link asks for mail.read at most: send and purge could never be granted, so they are not listed.
    expect([...policy.tools.keys()].sort()).toEqual(['mail_ping', 'mail_read', 'mail_search']);
    expect(Object.fromEntries(policy.serviceScopeDenied)).toEqual({
      mail_send: ['mail.send'],
      mail_purge: ['mail.admin'],
    });
    expect(denial(() => decideToolCall(policy, { name: 'mail_send', args: {} }))).toEqual({
      code: 'scope_missing',
      details: { tool: 'mail_send', toolset: 's', missingScopes: ['mail.send'], reason: 'service' },
    });
    expect(policy.requiredScopesOf('mail')).toEqual(['mail.read']);
    // A configured broader scope covers the narrower ones it implies.
    const broad = compileToolsetPolicy(config.tenants[0]!.toolsets[0]!, tenantTools, {
      scopeImplies: new Map([['mail', { 'mail.admin': ['mail.read', 'mail.send'] }]]),
      serviceScopes: new Map([['mail', ['mail.admin']]]),
    });
    expect(broad.serviceScopeDenied.size).toBe(0);
  });

  it('SC-02 a grant that does not cover the tool is denied before validation, naming every missing scope', () => {
    const policy = toolset({ access: 'write' });
    const call = (name: string, grantedScopes?: string[], args: unknown = {}) =>
      denial(() => decideToolCall(policy, { name, args, grantedScopes }));
    expect(call('mail_send', ['mail.read'], { id: 5 })).toEqual({
      code: 'scope_missing',
      details: { tool: 'mail_send', service: 'mail', missingScopes: ['mail.send'], reason: 'grant' },
    });
    expect(call('mail_send', ['mail.admin'])).toBeUndefined(); // an alternative, and the hierarchy
    expect(call('mail_read', ['mail.admin'])).toBeUndefined();
    expect(call('mail_ping', [])).toBeUndefined();
    // Mutation check (issue 17): an empty grant is a grant of nothing, not "no connection"; skipping the check
    // for it let a scoped tool through.
    expect(call('mail_read', [])).toEqual({
      code: 'scope_missing',
      details: { tool: 'mail_read', service: 'mail', missingScopes: ['mail.read'], reason: 'grant' },
    });
    expect(call('mail_send', [])?.details['missingScopes']).toEqual(['mail.send']);
    expect(call('mail_send')).toBeUndefined(); // no connection yet: the credential step asks for one
    expect(call('mail_read', ['mail.read'], { id: 5 })?.code).toBe('invalid_arguments');
  });

  it('step_up_narrowest_alternative: a step-up asks the narrow alternative a first link would, not a broader one listed first (GitHub repo before public_repo)', () => {
    // GitHub's pack lists `repo` first; `repo` implies `public_repo`. Both lack one scope, so "fewest missing"
    // alone chose `repo` (private repositories, read and write) where the first link asked `public_repo`.
    const github = named('github_create_issue', 'write', [['repo'], ['public_repo']]);
    const config = parseConfig({ tenants: [{ id: 't', toolsets: [{ id: 's', access: 'write' }] }] }, { env: {} });
    const policy = compileToolsetPolicy(config.tenants[0]!.toolsets[0]!, new Map([[github.name, github]]), {
      scopeImplies: new Map([['mail', { repo: ['public_repo'] }]]),
    });
    expect(policy.requiredScopesOf('mail')).toEqual(['public_repo']);
    expect(
      denial(() => decideToolCall(policy, { name: github.name, args: {}, grantedScopes: ['read:user'] }))?.details,
    ).toMatchObject({ missingScopes: ['public_repo'] });
    expect(decideToolCall(policy, { name: github.name, args: {}, grantedScopes: ['repo'] }).tool).toBe(github);
  });

  it('access mode, allow/deny globs, safety overrides and approval follow the config', () => {
    const read = toolset({ access: 'read', exclude: ['mail_ping'], policy: { safety: { '*_search': 'safe' } } });
    expect([...read.tools.keys()].sort()).toEqual(['mail_read', 'mail_search']);
    expect(read.tools.get('mail_search')?.tool.annotations.readOnlyHint).toBe(true);
    const codeOf = (name: string) => denial(() => decideToolCall(read, { name, args: {} }))?.code;
    expect(codeOf('mail_send')).toBe('access_mode_denied');
    expect(codeOf('mail_ping')).toBe('tool_not_allowed');
    expect(codeOf('nope')).toBe('tool_not_found');

    const write = toolset({
      access: 'write',
      approval: 'destructive',
      policy: { safety: { mail_send: 'destructive' } },
    });
    const needs = (name: string) => decideToolCall(write, { name, args: {} }).needsApproval;
    expect([needs('mail_purge'), needs('mail_send'), needs('mail_read')]).toEqual([true, true, false]);
    const listed = toolset({ access: 'write', approval: ['mail_s*'] });
    expect(decideToolCall(listed, { name: 'mail_search', args: {} }).needsApproval).toBe(true);
    expect(decideToolCall(listed, { name: 'mail_purge', args: {} }).needsApproval).toBe(false);
  });

  it('read_only_refusal_unnamed: a tool refused by a read-only toolset names the settings an operator changes (access, policy.safety), and for a remote MCP tool why its hints do not count', () => {
    const remote = {
      ...named('notes_write', 'write'),
      tool: {
        ...named('notes_write', 'write').tool,
        request: { method: 'POST', pathTemplate: '/', parameters: [], mcp: { tool: 'write' } },
      },
    } as NamedTool;
    const config = parseConfig({ tenants: [{ id: 't', toolsets: [{ id: 'reader' }] }] }, { env: {} });
    const policy = compileToolsetPolicy(
      config.tenants[0]!.toolsets[0]!,
      new Map([...tenantTools, [remote.name, remote]]),
    );
    const refusal = (name: string) => {
      try {
        decideToolCall(policy, { name, args: {} });
      } catch (error) {
        return error as GatehouseError;
      }
      throw new Error(`${name} was not refused`);
    };
    const federated = refusal('notes_write');
    expect(federated.code).toBe('access_mode_denied');
    expect(federated.details).toEqual({
      tool: 'notes_write',
      toolset: 'reader',
      settings: ['access', 'policy.safety'],
      reason: 'remote_hints',
    });
    expect(federated.message).toContain("toolset reader's access");
    expect(federated.message).toContain('policy.safety');
    expect(refusal('mail_send').details).toEqual({
      tool: 'mail_send',
      toolset: 'reader',
      settings: ['access', 'policy.safety'],
      reason: 'side_effects',
    });
  });

  it('approval_list_typo: an approval list entry that names no tool of the toolset makes every destructive tool wait too, and is reported', () => {
    // PUT .../toolsets/{t}/approval accepted ["mail_purg"]: the destructive mail_purge then ran without a person.
    const typo = toolset({ access: 'write', approval: ['mail_purg', 'mail_send'] });
    const needs = (name: string) => decideToolCall(typo, { name, args: {} }).needsApproval;
    expect([needs('mail_purge'), needs('mail_send'), needs('mail_read')]).toEqual([true, true, false]);
    expect(typo.unmatchedApproval).toEqual(['mail_purg']);
    // An entry naming an excluded tool names no tool of the toolset either.
    const excluded = toolset({ access: 'write', exclude: ['mail_send'], approval: ['mail_send'] });
    expect(excluded.unmatchedApproval).toEqual(['mail_send']);
    expect(decideToolCall(excluded, { name: 'mail_purge', args: {} }).needsApproval).toBe(true);
    // Every entry matching: the list alone decides.
    const exact = toolset({ access: 'write', approval: ['mail_s*'] });
    expect(exact.unmatchedApproval).toEqual([]);
    expect(decideToolCall(exact, { name: 'mail_purge', args: {} }).needsApproval).toBe(false);
  });
});
