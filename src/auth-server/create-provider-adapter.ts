import type { Adapter, AdapterConstructor, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../core/index.ts';
import type { OAuthServerRepository } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import { hashToken } from './hash-token.ts';

export interface ProviderAdapterOptions {
  readonly tenantId: string;
  readonly repository: OAuthServerRepository;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
}

/**
 * oidc-provider's storage interface over the Gatehouse store, for one tenant: every process of the gateway
 * shares it, so a code issued by one process is redeemed at another and refreshed at a third. Rows are keyed by
 * the SHA-256 of the id (the id of a code or token is the credential) and the payload is a vault envelope bound to
 * its row; the non-secret facts a bearer check needs (`aud`, account, client, expiry) are columns.
 */
export function createProviderAdapter(options: ProviderAdapterOptions): AdapterConstructor {
  const { tenantId, repository, vault, clock } = options;
  const scopeOf = (model: string, idHash: string) => ({
    tenantId,
    owner: `oauth:${model}:${idHash}`,
    field: 'payload',
  });

  async function open(model: string, found: Awaited<ReturnType<OAuthServerRepository['find']>>) {
    if (found === undefined) return undefined;
    if (found.expiresAt !== null && found.expiresAt <= clock.now()) return undefined;
    const payload = JSON.parse(await vault.decrypt(scopeOf(model, found.idHash), found.payload)) as AdapterPayload;
    return found.consumedAt === null ? payload : { ...payload, consumed: Math.floor(found.consumedAt / 1000) };
  }

  return class GatehouseAdapter implements Adapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const idHash = hashToken(id);
      const aud = Array.isArray(payload.aud) ? payload.aud[0] : (payload.aud ?? resourceOfGrant(payload));
      await repository.upsert({
        tenantId,
        model: this.model,
        idHash,
        payload: await vault.encrypt(scopeOf(this.model, idHash), JSON.stringify(payload)),
        // A grant's own row goes with `revokeByGrantId` too.
        grantId: this.model === 'Grant' ? id : (payload.grantId ?? null),
        uidHash: typeof payload.uid === 'string' ? hashToken(payload.uid) : null,
        aud: typeof aud === 'string' ? aud : null,
        accountId: payload.accountId ?? null,
        clientId: payload.clientId ?? null,
        expiresAt: expiresIn > 0 ? clock.now() + expiresIn * 1000 : null,
        consumedAt: null,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      return open(this.model, await repository.find(tenantId, this.model, hashToken(id)));
    }

    async findByUserCode(): Promise<AdapterPayload | undefined> {
      // The device flow is not enabled.
      return undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return open(this.model, await repository.findByUid(tenantId, this.model, hashToken(uid)));
    }

    async consume(id: string): Promise<void> {
      await repository.consume(tenantId, this.model, hashToken(id), clock.now());
    }

    async destroy(id: string): Promise<void> {
      await repository.destroy(tenantId, this.model, hashToken(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await repository.revokeByGrantId(tenantId, grantId);
    }
  };
}

/** A grant's one resource (the toolset it was given for), so revoking a consent finds it; else undefined. */
function resourceOfGrant(payload: AdapterPayload): string | undefined {
  const resources = (payload as { resources?: Record<string, string> }).resources;
  const keys = resources === undefined ? [] : Object.keys(resources);
  return keys.length === 1 ? keys[0] : undefined;
}
