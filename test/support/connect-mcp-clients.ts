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

/** A URL elicitation as a 2026-07-28 client is asked it: open `url`, told why in `message`. */
export interface Elicited {
  readonly mode: string;
  readonly url: string;
  readonly message: string;
}

/**
 * An SDK 2.x client pinned to 2026-07-28 that declares URL elicitation, connected to `url` with `clientKey`; when the
 * gateway asks its user something, the user does `onElicit` and answers what it returns. `maxRounds`: how many
 * times the client answers the questions of one request before it gives up.
 */
export async function connectUrlElicitingClient(
  url: string,
  clientKey: string,
  onElicit: (request: Elicited) => Promise<'accept' | 'decline' | 'cancel'>,
  { maxRounds = 3, name = 'gatehouse-e2e-elicitation' } = {},
): Promise<ClientV2> {
  const client = new ClientV2(
    { name, version: '1.0.0' },
    {
      capabilities: { elicitation: { url: {} } },
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      inputRequired: { maxRounds },
    },
  );
  client.setRequestHandler('elicitation/create', async (request) => ({
    action: await onElicit(request.params as unknown as Elicited),
  }));
  await client.connect(
    new TransportV2(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${clientKey}` } } }),
  );
  return client;
}
