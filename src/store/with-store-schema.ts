/** A PostgreSQL store URL that selects `schema` (`?schema=` or `&schema=`), as tests use per-run schemas. */
export function withStoreSchema(url: string, schema: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;
}
