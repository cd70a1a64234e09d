import type { ProviderOAuth } from './provider-schema.ts';

/** What a provider's `redirectUriRule` says about a redirect URI: the rule in words, and whether the URI breaks it. */
export interface RedirectUriVerdict {
  /** The rule in words, naming the provider (`Slack accepts HTTPS redirect URIs only, ...`). */
  readonly rule: string;
  /** Whether `redirectUri` cannot be registered under the rule. */
  readonly broken: boolean;
}

const loopbackHosts: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The provider's known rule for the redirect URI it lets an app register, applied to `redirectUri`
 * (`{publicUrl}/oauth/callback`); `undefined` when the catalogue does not know the provider's rule.
 */
export function checkRedirectUriRule(
  name: string,
  auth: Pick<ProviderOAuth, 'redirectUriRule'>,
  redirectUri: string,
): RedirectUriVerdict | undefined {
  const url = URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
  const https = url?.protocol === 'https:';
  switch (auth.redirectUriRule) {
    case 'https':
      return {
        rule: `${name} accepts HTTPS redirect URIs only, also for local development`,
        broken: !https,
      };
    case 'https-or-loopback':
      return {
        rule: `${name} accepts HTTPS, or http on localhost or a loopback address`,
        broken:
          !https &&
          !(url?.protocol === 'http:' && (loopbackHosts.has(url.hostname) || url.hostname.startsWith('127.'))),
      };
    case undefined:
      return undefined;
  }
}
