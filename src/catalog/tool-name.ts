import { createHash } from 'node:crypto';

/** Longest tool name any major MCP client accepts (`^[a-zA-Z0-9_-]{1,64}$`). */
export const toolNameMax = 64;
const hashLength = 8;

/**
 * The one place a tool's name is computed: `{service}_{key}`, characters outside `[a-zA-Z0-9_-]` replaced by
 * `_`. A name over 64 characters keeps its first 55 characters and ends with `_` and the first 8 hex digits of
 * the SHA-256 of the full name, so it is readable, deterministic and practically unique.
 */
export function toToolName(service: string, key: string): string {
  return toModelName(`${service}_${key}`);
}

/** A tool's name in a toolset that exposes its service unprefixed (`unprefixed`): its key, by the same rule. */
export function toUnprefixedToolName(key: string): string {
  return toModelName(key);
}

function toModelName(name: string): string {
  const full = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (full.length <= toolNameMax) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, hashLength);
  return `${full.slice(0, toolNameMax - hashLength - 1)}_${hash}`;
}
