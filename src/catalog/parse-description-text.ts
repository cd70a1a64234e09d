import { parse } from 'yaml';

/**
 * Parses a description written in JSON or YAML. JSON (text starting with `{`) goes through JSON.parse, several
 * times faster than a YAML parser; everything else through `yaml` (YAML 1.2 core schema, no merge keys).
 * Throws what the parser throws; the caller turns it into `description_invalid`.
 */
export function parseDescriptionText(text: string): unknown {
  const start = text.trimStart();
  if (start.startsWith('{')) {
    try {
      return JSON.parse(start);
    } catch {
      // JSON-looking YAML (flow mapping with comments, single quotes ...) falls through to the YAML parser
    }
  }
  return parse(text, { version: '1.2', merge: false, uniqueKeys: false, prettyErrors: false, maxAliasCount: 10_000 });
}
