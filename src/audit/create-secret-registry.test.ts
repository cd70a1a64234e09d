import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretRegistry } from './create-secret-registry.ts';
import { listSecretForms } from './list-secret-forms.ts';

const encodings = (secret: string, user = 'svc-user') => ({
  raw: secret,
  json: JSON.stringify(secret),
  jsonTwice: JSON.stringify(JSON.stringify(secret)),
  url: encodeURIComponent(secret),
  form: new URLSearchParams({ q: secret }).toString(),
  hex: Buffer.from(secret).toString('hex'),
  base64: Buffer.from(secret).toString('base64'),
  base64At1: Buffer.from(`x${secret}y`).toString('base64'),
  base64At2: Buffer.from(`xy${secret}z`).toString('base64url'),
  basic: `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`,
});

describe('createSecretRegistry', () => {
  for (const size of [1, 400]) {
    it(`LG-05/06 removes every encoding, twice in one string, with ${size} registered secrets`, () => {
      const registry = createSecretRegistry();
      for (let i = 1; i < size; i++) registry.register(randomBytes(18).toString('base64'));
      const secret = 'cAn"ary\\+/=%_9Zq8Wx7Vu6';
      registry.register(secret);
      for (const [name, encoded] of Object.entries(encodings(secret))) {
        const out = registry.scrub(`a ${encoded} b ${encoded} c`);
        for (const form of listSecretForms(secret)) expect(out, `${name}: ${out}`).not.toContain(form);
        expect(out.startsWith('a '), name).toBe(true);
      }
    });
  }

  it('keeps the number of rotating secrets bounded (least recently registered first) and expires them', () => {
    let now = 0;
    const registry = createSecretRegistry({ maxSecrets: 3, ttlMs: 1_000, now: () => now });
    registry.register('permanent-secret-1', { permanent: true });
    for (const t of ['token-aaaaaaaa-1', 'token-bbbbbbbb-2', 'token-cccccccc-3']) registry.register(t);
    registry.register('token-aaaaaaaa-1');
    registry.register('token-dddddddd-4');
    expect(registry.size).toBe(4);
    expect(registry.scrub('token-bbbbbbbb-2')).toBe('token-bbbbbbbb-2');
    expect(registry.scrub('token-aaaaaaaa-1')).toBe('[REDACTED]');
    now = 2_000;
    expect(registry.scrub('token-aaaaaaaa-1 permanent-secret-1')).toBe('token-aaaaaaaa-1 [REDACTED]');
    expect(registry.size).toBe(1);
  });

  it('ignores values too short to scrub safely and leaves ordinary text alone', () => {
    const registry = createSecretRegistry();
    registry.register('short');
    registry.register('a-long-enough-secret');
    expect(registry.scrub('short text with nothing to hide')).toBe('short text with nothing to hide');
  });

  it('scrubs a 1 KiB line against 2,000 secrets quickly', () => {
    const registry = createSecretRegistry();
    const secrets = Array.from({ length: 2_000 }, () => randomBytes(24).toString('base64url'));
    for (const s of secrets) registry.register(s);
    const line = `${'{"level":"info","msg":"upstream call","url":"https://api.example.com/v1/items?page=2"}'.repeat(12)}${secrets[1234]}`;
    const started = performance.now();
    let out = '';
    for (let i = 0; i < 200; i++) out = registry.scrub(line);
    const perLineUs = ((performance.now() - started) / 200) * 1000;
    expect(out.endsWith('[REDACTED]')).toBe(true);
    expect(perLineUs).toBeLessThan(2_000);
    console.log(`secret registry: ${perLineUs.toFixed(1)} us per 1 KiB line with 2,000 secrets`);
  });
});
