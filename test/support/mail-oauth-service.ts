import { fileURLToPath } from 'node:url';
import { type RunningOidcProvider, startOidcProvider } from './start-oidc-provider.ts';

/**
 * A `mail` service whose OAuth is a real oidc-provider: what the suites of who may open a connect link, and of the
 * operator's sign-out, connect accounts to. Its calls go nowhere (no suite calls a tool); its links and consents are
 * real.
 */
export const mailDescription = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const resource = 'https://mail.example/api';
const clientSecret = 'mail-app-secret-0123456789';

/** The mail API's authorization server, sending the browser back to the gateway at `publicUrl`. */
export function startMailAuthorizationServer(publicUrl: string): Promise<RunningOidcProvider> {
  return startOidcProvider({
    redirectUris: [`${publicUrl}/oauth/callback`],
    clientId: 'gatehouse',
    clientSecret,
    resource,
    resourceScopes: ['mail.read'],
  });
}

/** The service's `oauth2` auth at `as`. */
export function mailAuth(as: RunningOidcProvider) {
  return {
    type: 'oauth2',
    issuer: as.issuer,
    clientId: 'gatehouse',
    clientSecret,
    scopes: ['mail.read'],
    resource,
  } as const;
}

/** The `mail` service (or another id and description, with the same authorization server). */
export function mailService(as: RunningOidcProvider, id = 'mail', openapi = mailDescription) {
  return { id, openapi, baseUrl: 'http://127.0.0.1:1', auth: mailAuth(as) };
}
