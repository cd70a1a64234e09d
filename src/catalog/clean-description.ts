const entities: Readonly<Record<string, string>> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&nbsp;': ' ',
};

/**
 * Turns description markdown/HTML into short plain-ish text for a model: drops images, HTML comments and tags,
 * keeps link text, squeezes blank lines, and cuts at `max` characters with an ellipsis.
 */
export function cleanDescription(text: string, max: number): string {
  let out = text;
  if (out.includes('<') || out.includes('](') || out.includes('&')) {
    out = out
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
      .replace(/\[([^\]]*)\]\([^)\s]*\)/g, '$1')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/?(?:p|div|ul|ol|li|h[1-6]|table|tr)\b[^>]*>/gi, '\n')
      .replace(/<\/?[a-zA-Z][^>]*>/g, '')
      .replace(/&(?:amp|lt|gt|quot|#39|nbsp);/g, (entity) => entities[entity] ?? entity);
  }
  out = out
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (out.length <= max) return out;
  return `${out.slice(0, max - 1).trimEnd()}…`;
}
