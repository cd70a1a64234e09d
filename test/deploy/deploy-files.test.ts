/**
 * The container and orchestration files (issue 13) kept true as the config and the shutdown sequence change: the
 * example config validates against today's schema, and every stop budget exceeds what a graceful stop may take.
 * No Docker daemon or Helm binary is needed (neither is available in CI); docs/operations.md says what was verified.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/core/index.ts';

const deploy = join(import.meta.dirname, '..', '..', 'deploy');
const read = (file: string) => readFileSync(join(deploy, file), 'utf8');
const exampleConfig = () => loadConfigFile(join(deploy, 'gatehouse.example.yaml'), {}, 'defer');
/** What a graceful stop may take at most (docs/operations.md, "Stopping and draining"). */
const stopBudgetMs = (shutdown: { unreadyDelaySeconds: number; drainTimeoutSeconds: number }) =>
  (shutdown.unreadyDelaySeconds + shutdown.drainTimeoutSeconds) * 1000 + 12_000;

describe('deploy/', () => {
  it('the Dockerfile image holds every folder the package ships (finding: no catalog/, so provider services failed)', () => {
    const dockerfile = readFileSync(join(deploy, '..', 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf(' AS runtime'));
    const pkg = JSON.parse(readFileSync(join(deploy, '..', 'package.json'), 'utf8')) as { files: string[] };
    // What the runtime stage copies from the checkout (`COPY <source> <dest>`), by top-level name.
    const copied = new Set([...runtime.matchAll(/^COPY (?!--)(\S+) /gm)].map((m) => (m[1] as string).split('/')[0]));
    if (runtime.includes('COPY --from=build /app/dist ./dist')) copied.add('dist');
    for (const entry of pkg.files) {
      const top = entry.split('/')[0] as string;
      expect(copied.has(top), `${entry} (package.json "files") is not copied into the runtime image`).toBe(true);
    }
  });

  it('gatehouse.example.yaml is a valid config; its secrets are environment references only', () => {
    const config = exampleConfig();
    expect(config.tenants.map((t) => t.id)).toEqual(['acme']);
    expect(config.unresolvedEnv.map((v) => v.variable).sort()).toEqual(['ACME_ASSISTANT_KEY', 'NOTES_API_TOKEN']);
  });

  it('compose.yaml: two gateway replicas on PostgreSQL + Redis behind the balancer, stopped within their grace', () => {
    const compose = parse(read('compose.yaml'), { merge: true }) as {
      services: Record<
        string,
        {
          environment?: Record<string, string>;
          stop_grace_period?: string;
          read_only?: boolean;
          networks?: { default?: { ipv4_address?: string } };
        }
      >;
    };
    const gateways = Object.entries(compose.services).filter(([name]) => name.startsWith('gateway-'));
    expect(gateways).toHaveLength(2);
    const graceMs = Number.parseInt(gateways[0]?.[1].stop_grace_period ?? '0', 10) * 1000;
    expect(graceMs).toBeGreaterThan(stopBudgetMs(exampleConfig().shutdown));
    for (const [, gateway] of gateways) {
      expect(gateway.read_only).toBe(true);
      // Served as the application role, never the superuser (RLS binds only a non-owner, non-superuser role).
      expect(gateway.environment?.['GATEHOUSE_STORE']).toMatch(/^postgres:\/\/gatehouse_app:.+@postgres:5432\//);
      expect(gateway.environment?.['GATEHOUSE_MIGRATION_STORE']).toMatch(
        /^postgres:\/\/gatehouse_owner:.+@postgres:5432\//,
      );
      expect(gateway.environment?.['GATEHOUSE_REDIS']).toBe('redis://redis:6379');
      // Issue 13: the balancer, and only it, is trusted to name the client (its address is fixed for that).
      expect(gateway.environment?.['GATEHOUSE_TRUSTED_PROXIES']).toBe(
        compose.services['balancer']?.networks?.default?.ipv4_address,
      );
    }
    const nginx = read('nginx.conf');
    for (const [name] of gateways) expect(nginx).toContain(`server ${name}:8787`);
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['balancer', 'postgres', 'redis']));
  });

  it('the Helm chart probes /healthz and /readyz, runs non-root read-only, and waits longer than a stop takes', () => {
    const values = parse(read('helm/gatehouse/values.yaml')) as {
      config: string;
      shutdown: { terminationGracePeriodSeconds: number };
    };
    const chartConfig = parse(values.config) as {
      shutdown: { unreadyDelaySeconds: number; drainTimeoutSeconds: number };
    };
    expect(values.shutdown.terminationGracePeriodSeconds * 1000).toBeGreaterThan(stopBudgetMs(chartConfig.shutdown));
    const deployment = read('helm/gatehouse/templates/deployment.yaml');
    expect(deployment).toContain('path: /healthz');
    expect(deployment).toContain('path: /readyz');
    expect(deployment).toContain('readOnlyRootFilesystem: true');
    expect(deployment).toContain('runAsNonRoot: true');
    expect(read('helm/gatehouse/templates/poddisruptionbudget.yaml')).toContain('kind: PodDisruptionBudget');
  });

  it('the Dockerfile is multi-stage, runs as a non-root user without dev dependencies, with a HEALTHCHECK', () => {
    const dockerfile = readFileSync(join(deploy, '..', 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
  });
});
