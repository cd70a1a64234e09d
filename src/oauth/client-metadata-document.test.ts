import type * as oauth from 'oauth4webapi';
import { describe, expect, it } from 'vitest';
import {
  clientMetadataDocumentOf,
  clientMetadataDocumentUrlOf,
  usesClientMetadataDocument,
} from './client-metadata-document.ts';

const server = (issuer: string, extra: Record<string, unknown> = {}): oauth.AuthorizationServer => ({
  issuer,
  client_id_metadata_document_supported: true,
  ...extra,
});

describe('client metadata document', () => {
  it('names its own URL as client_id, the callback as its one redirect URI, and a public client', () => {
    expect(clientMetadataDocumentOf('https://gw.example/base')).toEqual({
      client_id: 'https://gw.example/base/oauth/client-metadata.json',
      client_name: 'Gatehouse',
      client_uri: 'https://gw.example/base',
      redirect_uris: ['https://gw.example/base/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
  });

  it.each([
    ['https public URL, server advertising support', 'https://gw.example', server('https://as.example'), true],
    ['support not advertised', 'https://gw.example', { issuer: 'https://as.example' }, false],
    [
      'support advertised as a string',
      'https://gw.example',
      server('https://as.example', { client_id_metadata_document_supported: 'true' }),
      false,
    ],
    [
      'token endpoint takes no public client',
      'https://gw.example',
      server('https://as.example', { token_endpoint_auth_methods_supported: ['client_secret_basic'] }),
      false,
    ],
    [
      'token endpoint lists none',
      'https://gw.example',
      server('https://as.example', { token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'] }),
      true,
    ],
    [
      'http loopback public URL, server elsewhere (it cannot fetch the document)',
      'http://127.0.0.1:8787',
      server('https://as.example'),
      false,
    ],
    [
      'http loopback public URL, server on loopback too',
      'http://127.0.0.1:8787',
      server('http://127.0.0.1:9000'),
      true,
    ],
    ['http localhost public URL, server on loopback', 'http://localhost:8787', server('http://127.0.0.1:9000'), true],
    ['http public URL on a private address', 'http://10.0.0.5:8787', server('http://127.0.0.1:9000'), false],
    ['http public host name', 'http://gw.example', server('https://as.example'), false],
  ])('%s: %s', (_, publicUrl, metadata, expected) => {
    expect(
      usesClientMetadataDocument(metadata as oauth.AuthorizationServer, clientMetadataDocumentUrlOf(publicUrl)),
    ).toBe(expected);
  });
});
