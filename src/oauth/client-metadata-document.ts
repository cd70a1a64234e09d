import type * as oauth from 'oauth4webapi';
import { isLoopbackUrl } from './create-oauth-fetch.ts';

/**
 * The gateway as an OAuth client identifies itself to an authorization server that has never seen it by a Client
 * ID Metadata Document (draft-ietf-oauth-client-id-metadata-document; the MCP authorization spec's "Client ID
 * Metadata Documents"): its `client_id` is the URL of a JSON document it serves itself, which the server fetches.
 */

/** Where the document is served, under the public URL. */
export const clientMetadataDocumentPath = '/oauth/client-metadata.json';

/** The connect flow's one redirect URI: `{publicUrl}/oauth/callback`. */
export function redirectUriOf(publicUrl: string): string {
  return `${publicUrl}/oauth/callback`;
}

/** The document's URL, which is also the `client_id` it names. */
export function clientMetadataDocumentUrlOf(publicUrl: string): string {
  return `${publicUrl}${clientMetadataDocumentPath}`;
}

/**
 * The gateway's client metadata document (RFC 7591 client metadata, draft §3): its own URL as `client_id`, the
 * connect flow's redirect URI, the code flow with refresh tokens, and a public client (`none`: the draft forbids
 * shared secrets in a document anyone can read; PKCE protects the code). The same for every tenant and service.
 */
export function clientMetadataDocumentOf(publicUrl: string): Readonly<Record<string, unknown>> {
  return {
    client_id: clientMetadataDocumentUrlOf(publicUrl),
    client_name: 'Gatehouse',
    client_uri: publicUrl,
    redirect_uris: [redirectUriOf(publicUrl)],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

/**
 * Whether the gateway identifies itself to `metadata`'s server by the document at `documentUrl`: the server
 * advertises `client_id_metadata_document_supported`, takes public clients at its token endpoint (`none` listed,
 * or no list), and can fetch the document. The MCP spec requires an https URL; a plain http one (the default
 * public URL `http://127.0.0.1:8787`) is used only on loopback with a server on loopback too, the one server that
 * can reach it (local servers, tests). Any other server gets a registration, as before.
 */
export function usesClientMetadataDocument(metadata: oauth.AuthorizationServer, documentUrl: string): boolean {
  if (metadata['client_id_metadata_document_supported'] !== true) return false;
  const methods = metadata.token_endpoint_auth_methods_supported;
  if (methods !== undefined && !methods.includes('none')) return false;
  const protocol = new URL(documentUrl).protocol;
  return (
    protocol === 'https:' || (protocol === 'http:' && isLoopbackUrl(documentUrl) && isLoopbackUrl(metadata.issuer))
  );
}
