import { GatehouseError } from '../core/index.ts';
import type { Caller, CallOutcome, Gateway, ListedTool } from '../gateway/index.ts';

/**
 * Test support: a scripted `Gateway` for the transport tests. Endpoint `t/s` accepts `Bearer key-t` (tenant `t`);
 * `Bearer key-u` belongs to tenant `u` (endpoint `u/s`). Tools: `echo` (read-only, output schema; returns its
 * arguments), `fail` (a tool error `upstream_timeout`), `plain` (text only). Any other name is `tool_not_found`.
 * With `anyKey`, every request to `t/s` is accepted without a key (for tools that cannot send headers).
 * Not for production use.
 */
export interface FakeGateway extends Gateway {
  readonly calls: {
    readonly caller: Caller;
    readonly name: string;
    readonly args: unknown;
    readonly requestId: string;
  }[];
  readonly authorizations: (string | undefined)[];
  isReady: boolean;
}

export const fakeTools: readonly ListedTool[] = [
  {
    name: 'echo',
    title: 'Echo',
    description: 'Returns its arguments.',
    inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
    outputSchema: { type: 'object', properties: { echo: { type: 'object' } }, required: ['echo'] },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  },
  {
    name: 'fail',
    title: 'Fail',
    description: 'Always fails with an upstream timeout.',
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  },
  {
    name: 'plain',
    title: 'Plain',
    description: 'Answers with text only.',
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  },
];

const keys: Readonly<Record<string, { id: string; tenant: string; toolsets: readonly string[] }>> = {
  'key-t': { id: 'k1', tenant: 't', toolsets: ['s'] },
  'key-u': { id: 'k2', tenant: 'u', toolsets: ['s'] },
};
const endpoints = new Set(['t/s', 'u/s']);

export function createFakeGateway(options: { anyKey?: boolean } = {}): FakeGateway {
  const calls: FakeGateway['calls'] = [];
  const authorizations: (string | undefined)[] = [];
  const gateway: FakeGateway = {
    calls,
    authorizations,
    isReady: true,
    admin: {
      listTenants: async () => [],
      federationStatus: () => [],
      listClientKeys: async () => [],
      revokeClientKey: async () => {},
      createClientKey: async () => {
        throw new Error('not used by the MCP tests');
      },
    },
    async authenticate(tenant, toolset, authorization) {
      authorizations.push(authorization);
      if (options.anyKey && tenant === 't' && toolset === 's') return callerOf('t', 's', 'anonymous');
      const key = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
      const entry = key === undefined ? undefined : keys[key];
      if (entry === undefined) throw new GatehouseError('unauthenticated', 'Client key missing or unknown');
      if (!endpoints.has(`${tenant}/${toolset}`) || entry.tenant !== tenant || !entry.toolsets.includes(toolset)) {
        throw new GatehouseError('not_found', 'No such MCP endpoint');
      }
      return callerOf(tenant, toolset, entry.id);
    },
    async listTools() {
      return fakeTools;
    },
    async callTool(caller, name, args, requestId): Promise<CallOutcome> {
      calls.push({ caller, name, args, requestId });
      if (name === 'echo') return { ok: true, structuredContent: { echo: args as object }, text: JSON.stringify(args) };
      if (name === 'plain') return { ok: true, text: 'plain text' };
      if (name === 'fail') {
        return {
          ok: false,
          error: new GatehouseError('upstream_timeout', 'Upstream did not answer within 10000 ms', {
            timeoutMs: 10000,
          }),
        };
      }
      return { ok: false, error: new GatehouseError('tool_not_found', `No tool ${name} in this toolset`) };
    },
    async ready() {
      return gateway.isReady;
    },
  };
  return gateway;
}

function callerOf(tenant: string, toolset: string, keyId: string): Caller {
  return { tenant, toolset, authMethod: 'key', keyId, keyName: keyId, subject: 'alice' };
}
