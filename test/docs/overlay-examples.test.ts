import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createProviderExpander } from '../../src/catalog/index.ts';
import { type GatehouseError, parseConfig } from '../../src/core/index.ts';
import { inspectOverlays } from '../../src/gateway/index.ts';

/** The YAML examples of docs/configuration.md "Tool overlays": a newcomer copies them, so they must pass. */
const page = readFileSync(resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
const section = page.slice(
  page.indexOf('### Tool overlays'),
  page.indexOf('\n### ', page.indexOf('### Tool overlays') + 1),
);
const examples = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const env = { SLACK_CLIENT_ID: 'slack-client', SLACK_CLIENT_SECRET: 'slack-client-secret' };

/** The overlays of a tenant with the example's services, applied to the real packs. */
function overlaysOf(services: unknown) {
  const config = parseConfig(
    { tenants: [{ id: 'acme', services }] },
    { env, expandProvider: createProviderExpander() },
  );
  return inspectOverlays(config);
}

describe('docs/configuration.md, Tool overlays', () => {
  it('has at least one YAML example', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples.map((text, i) => [i, text] as const))(
    'example %i applies to the real packs, every overlay taking effect',
    (_, text) => {
      const { services } = parse(text) as { services: { overlays: Record<string, unknown> }[] };
      const overlaid = overlaysOf(services);
      const named = services.reduce((n, s) => n + Object.keys(s.overlays ?? {}).length, 0);
      expect(overlaid.length).toBe(named);
      expect(overlaid.length).toBeGreaterThan(0);
    },
  );

  it('the Slack example renames post_message and marks it write', () => {
    const { services } = parse(examples[0] as string) as { services: unknown };
    const post = overlaysOf(services).find((o) => o.operation === 'post_message');
    expect(post?.after.name).toBe('slack_send_message');
    expect(post?.after.safety).toBe('write');
  });

  it('an overlay naming an unknown operation lists the valid operations of the real pack', () => {
    let error: GatehouseError | undefined;
    try {
      overlaysOf([
        {
          provider: 'slack',
          clientId: 'c',
          clientSecret: 'slack-client-secret',
          overlays: { conversations_history: { safety: 'safe' } },
        },
      ]);
    } catch (caught) {
      error = caught as GatehouseError;
    }
    expect(error?.code).toBe('config_invalid');
    expect(error?.message).toContain("no operation 'conversations_history' in the description");
    expect(error?.message).toContain('its operations: list_channels, get_channel, get_channel_history');
  });
});
