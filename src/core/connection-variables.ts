import { GatehouseError } from './errors.ts';

/**
 * Per-connection variables: parts of a service's base URL that only the connection knows (Salesforce's org,
 * Atlassian's site), filled by a provider quirk when an account connects (docs/providers.md). Each has one rule,
 * used for a value from the config (pinning one org or site) and for a value from a token response or a
 * post-connect call alike: an anchored pattern that admits no IP literal, no port, no user info and no other host,
 * so an attacker-controlled answer cannot send the users' tokens elsewhere.
 */
export const connectionVariableRules = {
  instanceUrl: {
    quirk: 'salesforce-instance-url',
    pattern: /^https:\/\/[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.(salesforce|force)\.com$/,
    how: "your org's instance URL, e.g. https://acme.my.salesforce.com (the instance_url of a token response)",
    example: 'https://example.my.salesforce.com',
  },
  cloudId: {
    quirk: 'atlassian-cloud-id',
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    how: 'the id of your Atlassian site (GET https://api.atlassian.com/oauth/token/accessible-resources with a token)',
    example: '00000000-0000-0000-0000-000000000000',
  },
  tenantId: {
    quirk: 'xero-tenant-id',
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    how: 'the id of your Xero organisation (GET https://api.xero.com/connections with a token)',
    example: '00000000-0000-0000-0000-000000000000',
  },
} as const satisfies Record<string, { quirk: string; pattern: RegExp; how: string; example: string }>;

export type ConnectionVariable = keyof typeof connectionVariableRules;

/** Whether `name` is a per-connection variable. */
export function isConnectionVariable(name: string): name is ConnectionVariable {
  return Object.hasOwn(connectionVariableRules, name);
}

/** The `{name}` placeholders of a URL template, in order (any name; see `isConnectionVariable`). */
export function placeholdersOf(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] as string);
}

/**
 * `template` with each `{name}` replaced by `values[name]`, every value checked against its rule first. Throws
 * `credential_unavailable` naming the variable (never the value) when one is missing or breaks its rule.
 */
export function fillConnectionVariables(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([^{}]*)\}/g, (_whole, name: string) => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (!isConnectionVariable(name) || value === undefined || !connectionVariableRules[name].pattern.test(value)) {
      throw new GatehouseError(
        'credential_unavailable',
        `The connection has no valid ${name} for this service's base URL; connect the account again`,
        { variable: name },
      );
    }
    return value;
  });
}
