import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** An SDK 2.x client (both protocol eras, negotiated) connected to an MCP endpoint with a bearer client key. */
export async function connectClientV2(url: string, clientKey: string, name = 'gatehouse-e2e'): Promise<ClientV2> {
  const client = new ClientV2({ name, version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(
    new TransportV2(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${clientKey}` } } }),
  );
  return client;
}

/** An SDK 1.x client (2025 era) connected to an MCP endpoint with a bearer client key. */
export async function connectClientV1(url: string, clientKey: string, name = 'gatehouse-e2e-v1'): Promise<ClientV1> {
  const client = new ClientV1({ name, version: '1.0.0' });
  await client.connect(
    new TransportV1(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${clientKey}` } } }),
  );
  return client;
}
