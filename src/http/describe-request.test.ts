import { describe, expect, it } from 'vitest';
import { redactTarget } from './describe-request.ts';

describe('redactTarget', () => {
  it('breaker finding 4: the log line of an invite link holds no invite token', () => {
    const token = 'inv_Zm9vYmFyYmF6cXV4c2VjcmV0dG9rZW4';
    for (const target of [`/invite/${token}`, `/invite/${token}?x=1`, `/invite/${token}/`]) {
      const logged = redactTarget(target);
      expect(logged).not.toContain(token);
      expect(logged.startsWith('/invite/[REDACTED]')).toBe(true);
    }
    expect(redactTarget(`/invite/${token}?x=1`)).toBe('/invite/[REDACTED]?x=1');
  });

  it('keeps other paths and redacts credential-like query values', () => {
    expect(redactTarget('/mcp/acme/reader')).toBe('/mcp/acme/reader');
    expect(redactTarget('/x?access_token=abc&page=2')).toBe('/x?access_token=[REDACTED]&page=2');
  });
});
