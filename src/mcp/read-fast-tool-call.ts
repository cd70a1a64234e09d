import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import { isPlainObject } from '../core/index.ts';

/** A `tools/call` the endpoint answers itself, without the SDK. */
export interface FastToolCall {
  readonly id: string | number;
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** The request's `params._meta`, when it has one (client capabilities may be declared there). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** `legacy`: a 2025-era request; `modern`: a 2026-07-28 one, whose result carries `resultType` and `_meta`. */
  readonly era: 'legacy' | 'modern';
}

/** The request headers the fast-path decision reads (lower-cased names, as node:http gives them). */
export interface FastPathHeaders {
  readonly accept?: string | undefined;
  readonly 'mcp-protocol-version'?: string | string[] | undefined;
  readonly 'mcp-method'?: string | string[] | undefined;
  readonly 'mcp-name'?: string | string[] | undefined;
}

/** The one stateless-era revision the SDK speaks besides the 2025 line. */
export const modernProtocolVersion = '2026-07-28';

const legacyVersions: ReadonlySet<string> = new Set(SUPPORTED_PROTOCOL_VERSIONS);
const requestKeys: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const paramKeys: ReadonlySet<string> = new Set(['name', 'arguments', '_meta']);
const envelopeKeys: ReadonlySet<string> = new Set([
  PROTOCOL_VERSION_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
]);
const clientInfoKeys: ReadonlySet<string> = new Set(['name', 'version', 'title']);

/**
 * Returns the call when a parsed POST body is one the fast path may answer byte-compatibly with the SDK's
 * stateless 2025-era transport, else `undefined` (the SDK serves it). The rules:
 * - a single JSON-RPC request (not a batch, not a notification, not a response) with `jsonrpc: "2.0"`, an id
 *   that is a string or a safe integer, `method: "tools/call"`, and no members beyond the JSON-RPC ones;
 * - `params` holds only `name` (string), `arguments` (object, optional) and `_meta` (object, optional) —
 *   anything else (a task augmentation, an unknown member) is left to the SDK;
 * - no 2026-07-28 envelope claim (`_meta["io.modelcontextprotocol/protocolVersion"]`): the modern era carries
 *   per-request `_meta`, header cross-checks (`Mcp-Method`, `Mcp-Name`) and result `_meta`, all owned by the SDK;
 * - `MCP-Protocol-Version` absent (the 2025 transports then assume 2025-03-26) or one of the SDK's supported
 *   2025-era versions; a modern or unknown value goes to the SDK, which answers it;
 * - `Accept` absent or admitting `application/json` (the answer is a single JSON body);
 * - no `_meta.progressToken` (progress notifications need the SDK's event stream).
 * The Content-Type check (415) is done by the caller for every POST before the body is parsed.
 */
export function readFastToolCall(body: unknown, headers: FastPathHeaders): FastToolCall | undefined {
  if (!isPlainObject(body) || body['method'] !== 'tools/call' || body['jsonrpc'] !== '2.0') return undefined;
  const id = body['id'];
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  const params = body['params'];
  if (!isPlainObject(params) || typeof params['name'] !== 'string') return undefined;
  if (!hasOnlyKeys(body, requestKeys) || !hasOnlyKeys(params, paramKeys)) return undefined;
  const args = params['arguments'] === undefined ? {} : params['arguments'];
  if (!isPlainObject(args)) return undefined;
  const meta = params['_meta'];
  if (meta !== undefined && !isPlainObject(meta)) return undefined;
  if (!acceptsJson(headers.accept)) return undefined;
  const version = headers['mcp-protocol-version'];
  const name = params['name'];
  if (meta !== undefined && PROTOCOL_VERSION_META_KEY in meta) {
    if (version !== modernProtocolVersion || !isPlainModernEnvelope(meta, name, headers)) return undefined;
    return { id: id as string | number, name, args, meta, era: 'modern' };
  }
  if (version !== undefined && (typeof version !== 'string' || !legacyVersions.has(version))) return undefined;
  // Progress is streamed (the SDK answers such a call as an event stream when the client accepts one).
  if (meta !== undefined && 'progressToken' in meta) return undefined;
  return { id: id as string | number, name, args, ...(meta === undefined ? {} : { meta }), era: 'legacy' };
}

/**
 * A 2026-07-28 request the fast path may answer: the envelope claims the header's version and carries client
 * capabilities, nothing in `_meta` besides the envelope (no progress token, log level, trace context ...),
 * capabilities and client info in their plainest valid form, and the `Mcp-Method` / `Mcp-Name` headers match
 * the body. Anything else (including every malformed envelope) goes to the SDK, which owns those answers; the
 * endpoint tests compare both paths' bytes over such requests.
 */
function isPlainModernEnvelope(meta: Record<string, unknown>, name: string, headers: FastPathHeaders): boolean {
  if (meta[PROTOCOL_VERSION_META_KEY] !== modernProtocolVersion) return false;
  if (headers['mcp-method'] !== 'tools/call' || headers['mcp-name'] !== name) return false;
  if (!hasOnlyKeys(meta, envelopeKeys)) return false;
  const capabilities = meta[CLIENT_CAPABILITIES_META_KEY];
  if (!isPlainObject(capabilities)) return false;
  for (const key in capabilities) {
    // A client that may be asked questions: a federated server's questions are relayed by the SDK path.
    if (key === 'elicitation' || key === 'sampling') return false;
    const capability = capabilities[key];
    if (!isPlainObject(capability)) return false;
    const listChanged = capability['listChanged'];
    const plain =
      key === 'roots'
        ? hasOnlyKeys(capability, rootsKeys) && (listChanged === undefined || typeof listChanged === 'boolean')
        : hasOnlyObjectMembers(capability);
    if (!plain) return false;
  }
  const info = meta[CLIENT_INFO_META_KEY];
  if (info === undefined) return true;
  if (!isPlainObject(info) || !hasOnlyKeys(info, clientInfoKeys)) return false;
  if (typeof info['name'] !== 'string' || typeof info['version'] !== 'string') return false;
  return info['title'] === undefined || typeof info['title'] === 'string';
}

/** A capability whose members are objects of objects (e.g. `{ elicitation: { url: {} } }`). */
function hasOnlyObjectMembers(value: Record<string, unknown>): boolean {
  for (const key in value) {
    const member = value[key];
    if (!isPlainObject(member) || !hasOnlyKeys(member, noKeys)) return false;
  }
  return true;
}

const noKeys: ReadonlySet<string> = new Set();
const rootsKeys: ReadonlySet<string> = new Set(['listChanged']);

/**
 * Whether an `Accept` header admits a JSON body. An absent header does (curl and scripts often send none); the
 * Streamable HTTP spec asks clients for both types, but serving JSON to a client that named neither is harmless.
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined) return true;
  return accept.includes('application/json') || accept.includes('*/*') || accept.includes('application/*');
}

export function acceptsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && (accept.includes('text/event-stream') || accept.includes('text/*'));
}

function hasOnlyKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}
