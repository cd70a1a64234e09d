import {
  type Config,
  type ConfigTree,
  type ProviderExpander,
  parseConfig,
  parseTenantDocument,
  resolveTenantDocumentPaths,
  systemClock,
  type TenantDocument,
} from '../core/index.ts';
import { createDemoConfig, type DemoApi, startDemoApi } from '../demo/index.ts';
import { createClientKey } from '../gateway/index.ts';
import { redactStoreUrl } from '../store/index.ts';
import type { Adapters } from '../wiring/index.ts';
import { startGatehouse } from '../wiring/index.ts';
import type { CliContext } from './cli-context.ts';

/**
 * `gatehouse serve`: validates the config, opens the adapters, builds the gateway, and serves HTTP until the
 * stop signal. With `--demo`, the built-in demo API starts on a free loopback port and a `demo` tenant is
 * added to the config (loopback is then allowed as an upstream, by name).
 */
export async function runServe(
  tree: ConfigTree,
  demo: boolean,
  context: CliContext,
  expandProvider?: ProviderExpander,
): Promise<number> {
  const parseOptions = {
    env: context.env,
    baseDir: tree.baseDir,
    source: tree.source,
    ...(expandProvider === undefined ? {} : { expandProvider }),
  };
  let config: Config = parseConfig(tree.raw, parseOptions);
  let demoApi: DemoApi | undefined;
  let demoKey: string | undefined;
  let demoUser: { name: string; password: string } | undefined;
  if (demo) {
    demoApi = await startDemoApi();
    const demoConfig = createDemoConfig(config.dataDir, demoApi, createClientKey);
    demoKey = demoConfig.clientKey;
    demoUser = demoConfig.user;
    const raw = (tree.raw ?? {}) as {
      tenants?: unknown[];
      unsafeAllowPrivateUpstreams?: string[];
      adminToken?: string;
    };
    config = parseConfig(
      {
        ...raw,
        adminToken: raw.adminToken ?? demoConfig.adminToken,
        unsafeAllowPrivateUpstreams: [...new Set([...(raw.unsafeAllowPrivateUpstreams ?? []), '127.0.0.1'])],
        tenants: [...(raw.tenants ?? []), demoConfig.tenant],
      },
      parseOptions,
    );
  }
  let adapters: Adapters;
  try {
    adapters = await context.openAdapters(config, context);
  } catch (error) {
    // An open demo API would keep the process alive after the start-up error.
    await demoApi?.close();
    throw error;
  }
  try {
    const fileTenants = ((tree.raw as { tenants?: unknown } | null)?.tenants ?? []) as TenantDocument[];
    const server = await startGatehouse(config, adapters, systemClock, {
      logDestination: context.stdout,
      // Issue 14: the store is reconciled to the file's tenants, then every process follows the stored ones.
      tenantDocuments: Array.isArray(fileTenants)
        ? fileTenants.map((tenant) => resolveTenantDocumentPaths(tenant, tree.baseDir))
        : [],
      parseTenant: (document) => parseTenantDocument(document, parseOptions),
    });
    // Unready delay + drain + the aborted calls' grace (2 s), and 10 s to flush the audit log and close the store.
    context.setStopGraceMs?.(
      (config.shutdown.unreadyDelaySeconds + config.shutdown.drainTimeoutSeconds) * 1000 + 12_000,
    );
    const out = context.stdout;
    const users = server.gateway.users;
    if (demoUser && users) {
      await users.ensureLocalUser('demo', demoUser.name, demoUser.password);
      // The demo user owns the demo tenant, so the console shows every page (granting again changes nothing).
      const seeded = (await users.listUsers('demo')).find((u) => u.name === demoUser?.name);
      if (seeded) await users.roles.grantRole('demo', seeded.id, 'owner', 'demo');
    }
    out.write(`Gatehouse listening on ${server.url} (store: ${redactStoreUrl(config.store)})\n`);
    for (const { tenant, onlyStored } of server.servedAtStart) {
      if (onlyStored) {
        out.write(
          `  Tenant ${tenant.id}: not in ${tree.source}, served as stored (made through the admin API, or removed from the file since: gatehouse apply removes it from the store)\n`,
        );
      }
      for (const toolset of tenant.toolsets)
        out.write(`  MCP endpoint: ${config.publicUrl}/mcp/${tenant.id}/${toolset.id}\n`);
    }
    if (demoApi && demoKey) {
      out.write(
        [
          '',
          'Demo tenant ready (a built-in tasks API; no internet needed):',
          `  MCP URL:     ${config.publicUrl}/mcp/demo/assistant   (read-only: ${config.publicUrl}/mcp/demo/readonly)`,
          `  Client key:  ${demoKey}`,
          '               send it as "Authorization: Bearer <key>"; it is kept in .gatehouse/demo-client-key',
          `  Admin API:   ${config.publicUrl}/api/v1 (Authorization: Bearer <token in .gatehouse/demo-admin-token>)`,
          `  Console:     ${config.publicUrl}/console/demo   (sign in as the user below, the demo tenant's owner)`,
          `  Sign in:     ${config.publicUrl}/signin/demo   (your account page: ${config.publicUrl}/account/demo)`,
          `  user: ${demoUser?.name ?? 'demo'}`,
          `  password: ${demoUser?.password ?? ''}`,
          '               kept in .gatehouse/demo-user-password',
          '  Approvals:   the approval page asks for an approver token: enter the admin token in',
          '               .gatehouse/demo-admin-token (the agent never sees it; the link alone cannot approve)',
          '  Try it:',
          `    curl -s ${config.publicUrl}/mcp/demo/assistant -H "Authorization: Bearer ${demoKey}" \\`,
          `      -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\`,
          `      -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tasks_listTasks","arguments":{"status":"open"}}}'`,
          '',
        ].join('\n'),
      );
    }
    await context.stopSignal;
    await server.close();
    return 0;
  } finally {
    await adapters.close();
    await demoApi?.close();
  }
}
