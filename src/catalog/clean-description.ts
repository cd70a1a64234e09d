const entities: Readonly<Record<string, string>> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&nbsp;': ' ',
};

/**
 * Paragraphs that describe authentication plumbing rather than what an operation does (GitHub appends them to
 * most operations): which token types and scopes work, and the custom media types. The gateway holds the
 * credentials, so a model gains nothing from them, and they cost tokens and blur tool search.
 */
const boilerplate = [
  /^\*\*Fine-grained access tokens for\b/,
  /^This endpoint works with the following (?:fine-grained )?token types/,
  /^The fine-grained token must have the following permission/,
  /^The fine-grained token does not require any permissions/,
  /^This endpoint can be used without authentication or the aforementioned permissions/,
  /^OAuth (?:app )?tokens and personal access tokens \(classic\) need\b/,
  /^(?:GitHub )?Apps? (?:installation )?(?:access )?tokens? (?:and|can|must|are)\b/,
  /^This endpoint supports the following custom media types\b/,
];

/** Drops boilerplate paragraphs (and the bullet lists right after them) and GitHub alert markers (`> [!NOTE]`). */
function dropBoilerplate(text: string): string {
  if (!text.includes('tokens') && !text.includes('media types') && !text.includes('[!')) return text;
  const kept: string[] = [];
  let skippingList = false;
  for (const paragraph of text.split(/\n\s*\n/)) {
    const trimmed = paragraph.trim();
    if (boilerplate.some((pattern) => pattern.test(trimmed))) {
      skippingList = true;
      continue;
    }
    if (skippingList && /^(?:[*-] |\d+\. )/.test(trimmed)) continue;
    skippingList = false;
    kept.push(paragraph.replace(/^>\s*\[!(?:NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$/gm, '').replace(/^> ?/gm, ''));
  }
  return kept.join('\n\n');
}

/**
 * Turns description markdown/HTML into short plain-ish text for a model: drops authentication boilerplate,
 * images, HTML comments and tags, keeps link text, squeezes blank lines, and cuts at `max` characters with an
 * ellipsis.
 */
export function cleanDescription(text: string, max: number): string {
  let out = dropBoilerplate(text);
  // Every pattern here runs in time linear in the text (finding federated_description_quadratic_clean: a remote MCP
  // server's description is untrusted, and `[ \t]+\n` over 400,000 spaces took a minute): a match may not scan past
  // the next place a match could start (`[^\][]`, `[^()]`, `[^<>]`), and a run of blanks is tried from its start only.
  if (out.includes('<') || out.includes('](') || out.includes('&')) {
    out = dropComments(out)
      .replace(/!\[[^\][]*\]\([^()]*\)/g, '')
      .replace(/\[([^\][]*)\]\([^()\s]*\)/g, '$1')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/?(?:p|div|ul|ol|li|h[1-6]|table|tr)\b[^<>]*>/gi, '\n')
      .replace(/<\/?[a-zA-Z][^<>]*>/g, '')
      .replace(/&(?:amp|lt|gt|quot|#39|nbsp);/g, (entity) => entities[entity] ?? entity);
  }
  out = out
    .replace(/(?<![ \t])[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (out.length <= max) return out;
  return `${out.slice(0, max - 1).trimEnd()}…`;
}

/** `text` without its HTML comments (`<!--` to the next `-->`), found with `indexOf`: an unclosed one ends the search. */
function dropComments(text: string): string {
  if (!text.includes('<!--')) return text;
  let out = '';
  let at = 0;
  for (;;) {
    const open = text.indexOf('<!--', at);
    if (open === -1) break;
    const close = text.indexOf('-->', open + 4);
    if (close === -1) break;
    out += text.slice(at, open);
    at = close + 3;
  }
  return out + text.slice(at);
}
