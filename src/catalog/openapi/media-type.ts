/**
 * Picks the request media type a tool sends: JSON first (`application/json`, any `+json`), then
 * `application/x-www-form-urlencoded`, then `multipart/form-data`. Undefined when none is supported.
 */
export function pickMediaType(mediaTypes: readonly string[]): string | undefined {
  const normalised = mediaTypes.map((type) => type.split(';')[0]?.trim().toLowerCase() ?? '');
  const json = mediaTypes.find((_, i) => /^application\/(?:[\w.-]+\+)?json$/.test(normalised[i] ?? ''));
  if (json !== undefined) return json;
  for (const wanted of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
    const index = normalised.indexOf(wanted);
    if (index >= 0) return mediaTypes[index];
  }
  return undefined;
}
