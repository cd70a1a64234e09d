import { randomBytes, randomInt } from 'node:crypto';

/** A canary secret: a unique high-entropy value that must never appear in any sink. */
export interface Canary {
  readonly name: string;
  readonly value: string;
  /** Also look for every 12-character window of the raw value (off for values whose prefix is shown by design). */
  readonly windows: boolean;
}

export interface CanaryFinding {
  readonly canary: string;
  readonly sink: string;
  readonly encoding: string;
  /** Where it was found, with the canary itself masked. */
  readonly context: string;
}

const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const pick = (alphabet: string, n: number) =>
  Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Fresh canaries of every required shape (docs/requirements.md LG-01). */
export function createCanaries() {
  return {
    plain: randomBytes(24).toString('base64url'),
    github: `ghp_${pick(alnum, 36)}`,
    slack: `xoxb-${pick('0123456789', 12)}-${pick('0123456789', 13)}-${pick(alnum, 24)}`,
    jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: pick(alnum, 10), jti: pick(alnum, 22), exp: 4102444800 })}.${randomBytes(32).toString('base64url')}`,
    quoted: `cq${pick(alnum, 10)}"${pick(alnum, 6)}\\${pick(alnum, 8)}`,
    symbols: `cs${pick(alnum, 8)}+${pick(alnum, 5)}/${pick(alnum, 5)}=${pick(alnum, 5)}%${pick(alnum, 6)}`,
    everything: `ce${pick(alnum, 6)}"\\+/=%${pick(alnum, 14)}`,
    slow: randomBytes(20).toString('hex'),
  };
}

function base64Cores(bytes: Buffer): { offset: number; core: string }[] {
  return [0, 1, 2].map((offset) => {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
    return { offset, core: padded.toString('base64').slice(start, Math.floor((padded.length * 8) / 6)) };
  });
}

/** Every encoding the harness looks for, by name. Written independently of the gateway's own list on purpose. */
export function encodingsOf(value: string): [string, string][] {
  const bytes = Buffer.from(value, 'utf8');
  const out: [string, string][] = [
    ['raw', value],
    ['json-escaped', JSON.stringify(value).slice(1, -1)],
    ['json-escaped twice', JSON.stringify(JSON.stringify(value)).slice(1, -1)],
    ['url-encoded', encodeURIComponent(value)],
    ['url-encoded (form)', new URLSearchParams({ v: value }).toString().slice(2)],
    ['url-encoded (lower-case)', encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (p) => p.toLowerCase())],
    ['hex', bytes.toString('hex')],
    ['hex (upper-case)', bytes.toString('hex').toUpperCase()],
    ['basic', Buffer.from(`svc:${value}`).toString('base64')],
  ];
  for (const { offset, core } of base64Cores(bytes)) {
    out.push([`base64 at offset ${offset}`, core]);
    out.push([`base64url at offset ${offset}`, core.replace(/\+/g, '-').replace(/\//g, '_')]);
  }
  return out.filter(([, form]) => form.length >= 8);
}

/** Looks for every canary in one sink's text (binary sinks: pass a latin1-decoded string). */
export function findCanaries(sink: string, text: string, canaries: readonly Canary[]): CanaryFinding[] {
  const findings: CanaryFinding[] = [];
  const report = (canary: string, encoding: string, at: number, length: number) =>
    findings.push({
      canary,
      sink,
      encoding,
      context: `${text.slice(Math.max(0, at - 40), at)}<<${encoding}>>${text.slice(at + length, at + length + 40)}`,
    });
  // One pass over the text for the 12-character windows of every canary not already found in a full form.
  const windows = new Map<string, string>();
  for (const canary of canaries) {
    let found = false;
    for (const [encoding, form] of encodingsOf(canary.value)) {
      const at = text.indexOf(form);
      if (at !== -1) {
        report(canary.name, encoding, at, form.length);
        found = true;
      }
    }
    if (found || !canary.windows) continue;
    for (let i = 0; i + 12 <= canary.value.length; i++) windows.set(canary.value.slice(i, i + 12), canary.name);
  }
  if (windows.size === 0) return findings;
  const reported = new Set<string>();
  for (let i = 0; i + 12 <= text.length; i++) {
    const name = windows.get(text.slice(i, i + 12));
    if (name !== undefined && !reported.has(name)) {
      reported.add(name);
      report(name, '12-character window', i, 12);
    }
  }
  return findings;
}
