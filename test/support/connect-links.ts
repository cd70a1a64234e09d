import type { TestGateway } from './start-test-gateway.ts';

/** A connect link of (tenant, service, subject) made through the gateway, with the parts a test needs to tamper with. */
export async function connectLinkOf(
  gateway: TestGateway,
  tenant: string,
  service: string,
  subject: string,
): Promise<{ url: string; id: string; path: string; sig: string }> {
  const link = await gateway.gateway.connections!.createLink(tenant, { service, subject });
  const url = new URL(link.authorizeUrl);
  return {
    url: link.authorizeUrl,
    id: decodeURIComponent(/\/connect\/([^?]+)$/.exec(url.pathname)?.[1] ?? ''),
    path: url.pathname,
    sig: url.searchParams.get('sig') ?? '',
  };
}

/** Whether a connect link is still usable: a refused or unconfirmed visit must not spend it. */
export async function isConnectLinkUnused(gateway: TestGateway, tenant: string, id: string): Promise<boolean> {
  return (await gateway.adapters.store.connectFlow.getLink(tenant, id))?.usedAt === null;
}
