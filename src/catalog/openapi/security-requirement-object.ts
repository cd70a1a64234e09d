import { asRecord, type ImportContext } from './import-context.ts';

/**
 * Security Requirement Objects -> required OAuth scopes as alternatives (OR of AND lists). Only schemes of type
 * oauth2 / openIdConnect carry scopes; an alternative naming none of them (apiKey, http, `{}`) concerns another
 * kind of credential and adds nothing. If an OAuth alternative needs no scope, no scope is needed at all and the
 * result is empty. Duplicate alternatives are merged.
 */
export function transformSecurityRequirements(ctx: ImportContext, value: unknown): string[][] {
  if (!Array.isArray(value)) return [];
  const alternatives: string[][] = [];
  const seen = new Set<string>();
  for (const requirement of value) {
    const record = asRecord(requirement);
    if (record === undefined) continue;
    const scoped = Object.keys(record).filter((scheme) => ctx.scopedSchemes.has(scheme));
    if (scoped.length === 0) continue;
    const scopes = [
      ...new Set(
        scoped.flatMap((scheme) => {
          const list = record[scheme];
          return Array.isArray(list) ? list.filter((scope): scope is string => typeof scope === 'string') : [];
        }),
      ),
    ];
    if (scopes.length === 0) return [];
    const id = JSON.stringify([...scopes].sort());
    if (seen.has(id)) continue;
    seen.add(id);
    alternatives.push(scopes);
  }
  return alternatives;
}
