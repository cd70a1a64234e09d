/**
 * A fast reader for the block-style YAML that API description generators write (Stripe's 4 MB description
 * parses here in a fraction of the time of a general YAML parser, which builds a full syntax tree first).
 *
 * Contract: returns the same value `yaml`'s `parse(text, { version: '1.2' })` would, or `undefined` when the text
 * uses anything outside the subset handled here (anchors, aliases, tags, directives, complex keys, several
 * documents, tabs anywhere, duplicate keys, multi-line flow collections, syntax errors ...). The caller then falls back
 * to the full parser, so unusual YAML is never read differently, only more slowly.
 *
 * Handled: block mappings and sequences (including compact `- key: value` and sequences at a key's indent),
 * plain / single-quoted / double-quoted scalars (multi-line folding), literal and folded block scalars with
 * chomping indicators, single-line flow collections, comments, YAML 1.2 core schema scalars.
 */
export function parseBlockYaml(text: string): unknown {
  // Found by differential fuzzing: tabs are separators in some places of YAML and not in others, and JavaScript's
  // trim() removes characters YAML does not count as white space (NBSP, U+2028 ...); a lone CR is a line break.
  if (unusualWhitespace.test(text)) return undefined;
  try {
    return new BlockYamlReader(text).read();
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

const unusualWhitespace = /[\t\v\f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|\r(?!\n)/;

class Unsupported extends Error {}

/**
 * A duplicate key is an error for the full parser, so it is declined here (it reports it); `__proto__` is declined
 * because assigning it would set the object's prototype instead of adding the key.
 */
function setKey(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__' || Object.hasOwn(map, key)) bail();
  map[key] = value;
}

function bail(): never {
  throw new Unsupported();
}

class BlockYamlReader {
  private readonly lines: string[];
  private readonly endsWithBreak: boolean;
  private index = 0;

  constructor(text: string) {
    this.lines = text.split(/\r?\n/);
    this.endsWithBreak = text.endsWith('\n');
    // A final line break ends the last line; it does not start an empty one (which a `|+` scalar would keep).
    if (this.lines.length > 1 && this.lines[this.lines.length - 1] === '') this.lines.pop();
  }

  read(): unknown {
    this.skipBlank();
    const first = this.lines[this.index];
    if (first !== undefined && (first.startsWith('%') || first.startsWith('---'))) {
      if (first.startsWith('%') || first.trimEnd() !== '---') bail();
      this.index++;
    }
    this.skipBlank();
    const value = this.index < this.lines.length ? this.parseNode(0) : null;
    this.skipBlank();
    const rest = this.lines[this.index];
    if (rest !== undefined && rest.trimEnd() !== '...') bail();
    if (rest !== undefined) {
      this.index++;
      this.skipBlank();
      if (this.index < this.lines.length) bail();
    }
    return value;
  }

  /** Moves past empty and comment-only lines. */
  private skipBlank(): void {
    while (this.index < this.lines.length) {
      const line = this.lines[this.index] as string;
      const content = line.trimStart();
      if (content !== '' && !content.startsWith('#')) return;
      this.index++;
    }
  }

  private indentOf(line: string): number {
    let n = 0;
    while (line.charCodeAt(n) === 32) n++;
    if (line.charCodeAt(n) === 9) bail();
    return n;
  }

  /** A block node whose first line (the current one) is indented at least `minIndent`. */
  private parseNode(minIndent: number): unknown {
    this.skipBlank();
    const line = this.lines[this.index];
    if (line === undefined) return null;
    const indent = this.indentOf(line);
    if (indent < minIndent) return null;
    const content = line.slice(indent);
    if (isSequenceEntry(content)) return this.parseSequence(indent);
    if (findKeyEnd(content) >= 0) return this.parseMapping(indent);
    this.index++;
    return this.parseInlineValue(content, minIndent - 1);
  }

  private parseMapping(indent: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (;;) {
      this.skipBlank();
      const line = this.lines[this.index];
      if (line === undefined) return map;
      const lineIndent = this.indentOf(line);
      if (lineIndent < indent) return map;
      if (lineIndent > indent) bail();
      const content = line.slice(indent);
      if (isSequenceEntry(content) || (lineIndent === 0 && /^(?:---|\.\.\.)(?:\s|$)/.test(content))) return map;
      const keyEnd = findKeyEnd(content);
      if (keyEnd < 0) bail();
      const key = parseKey(content.slice(0, keyEnd));
      const rest = content.slice(keyEnd + 1).trimStart();
      this.index++;
      let value: unknown;
      if (rest === '' || rest.startsWith('#')) {
        this.skipBlank();
        const next = this.lines[this.index];
        const nextIndent = next === undefined ? -1 : this.indentOf(next);
        if (next !== undefined && nextIndent > indent) value = this.parseNode(indent + 1);
        else if (next !== undefined && nextIndent === indent && isSequenceEntry(next.slice(indent))) {
          value = this.parseSequence(indent);
        } else value = null;
      } else value = this.parseInlineValue(rest, indent);
      setKey(map, key, value);
    }
  }

  private parseSequence(indent: number): unknown[] {
    const list: unknown[] = [];
    for (;;) {
      this.skipBlank();
      const line = this.lines[this.index];
      if (line === undefined) return list;
      const lineIndent = this.indentOf(line);
      if (lineIndent < indent) return list;
      if (lineIndent > indent) bail();
      const content = line.slice(indent);
      if (!isSequenceEntry(content)) return list;
      const rest = content.slice(1).trimStart();
      if (rest === '' || rest.startsWith('#')) {
        this.index++;
        this.skipBlank();
        const next = this.lines[this.index];
        list.push(next !== undefined && this.indentOf(next) > indent ? this.parseNode(indent + 1) : null);
      } else if (isSequenceEntry(rest)) {
        bail();
      } else if (findKeyEnd(rest) >= 0 && !/^["'[{]/.test(rest)) {
        // compact mapping: `- key: value`, continued by lines at the key's column
        const column = line.length - rest.length;
        this.lines[this.index] = ' '.repeat(column) + rest;
        list.push(this.parseMapping(column));
      } else {
        this.index++;
        list.push(this.parseInlineValue(rest, indent));
      }
    }
  }

  /** A value starting on an already consumed line; continuation lines must be indented more than `parentIndent`. */
  private parseInlineValue(rest: string, parentIndent: number): unknown {
    const first = rest.charAt(0);
    if (first === '|' || first === '>') return this.parseBlockScalar(rest, parentIndent);
    if (first === '"' || first === "'") return this.parseQuoted(rest, parentIndent);
    if (first === '[' || first === '{') {
      const reader = new FlowReader(rest);
      const value = reader.readValue();
      reader.expectEnd();
      return value;
    }
    if ('&*!?%@`|>,]}'.includes(first)) bail();
    if (first === '-' && (rest.length === 1 || rest.charAt(1) === ' ')) bail();
    let text = stripComment(rest);
    if (text.includes(': ') || text.endsWith(':')) bail();
    const continuation = this.collectPlainContinuation(parentIndent);
    // A comment ends a plain scalar: more lines of it after one are an error for the full parser.
    if (continuation !== '' && rest.includes(' #')) bail();
    if (continuation !== '') text += continuation;
    return continuation === '' ? resolvePlain(text) : text;
  }

  private collectPlainContinuation(parentIndent: number): string {
    let out = '';
    let breaks = 0;
    while (this.index < this.lines.length) {
      const line = this.lines[this.index] as string;
      const content = line.trim();
      if (content === '') {
        breaks++;
        this.index++;
        continue;
      }
      if (this.indentOf(line) <= parentIndent || content.startsWith('#')) break;
      if (content.includes(': ') || content.endsWith(':') || content.includes(' #')) bail();
      out += breaks === 0 ? ` ${content}` : '\n'.repeat(breaks) + content;
      breaks = 0;
      this.index++;
    }
    return out;
  }

  private parseQuoted(rest: string, parentIndent: number): string {
    const quote = rest.charAt(0);
    let source = rest;
    let end = findQuoteEnd(source, quote);
    while (end < 0) {
      const line = this.lines[this.index];
      if (line === undefined) bail();
      if (line.trim() !== '' && this.indentOf(line) <= parentIndent) bail();
      // An escaped line break (`\` at the end of a line) followed by an empty line folds by rules of its own:
      // left to the full parser (found by differential fuzzing).
      if (quote === '"' && line.trim() === '' && /\\[ ]*$/.test(source)) bail();
      source += `\n${line}`;
      this.index++;
      end = findQuoteEnd(source, quote);
    }
    // A comment must be separated from the scalar by white space.
    if (source.charAt(end + 1) === '#') bail();
    const after = source.slice(end + 1).trim();
    if (after !== '' && !after.startsWith('#')) bail();
    return unquote(source.slice(0, end + 1));
  }

  private parseBlockScalar(header: string, parentIndent: number): string {
    const match = /^([|>])([-+]?)(?:[ ]+(?:#.*)?)?$/.exec(header);
    if (match === null) bail();
    const folded = match[1] === '>';
    const chomping = match[2];
    const body: string[] = [];
    let blockIndent = -1;
    while (this.index < this.lines.length) {
      const line = this.lines[this.index] as string;
      if (line.trim() === '') {
        body.push(line);
        this.index++;
        continue;
      }
      const indent = this.indentOf(line);
      if (blockIndent < 0) {
        if (indent <= parentIndent) break;
        blockIndent = indent;
        // Leading empty lines may not be longer than the indentation the first content line sets (an error).
        if (body.some((empty) => empty.length > blockIndent)) bail();
      }
      if (indent < blockIndent) break;
      body.push(line);
      this.index++;
    }
    // The last line of a text without a final line break has no break to keep or clip: left to the full parser.
    if (this.index >= this.lines.length && !this.endsWithBreak) bail();
    const lines = body.map((line) =>
      line.trim() === '' && line.length <= Math.max(blockIndent, 0) ? '' : line.slice(blockIndent),
    );
    if (blockIndent < 0 && lines.some((line) => line !== '')) bail();
    let last = lines.length;
    while (last > 0 && lines[last - 1] === '') last--;
    const content = lines.slice(0, last);
    const trailing = lines.length - last;
    let text = folded ? foldLines(content) : content.join('\n');
    if (content.length === 0) return chomping === '+' ? '\n'.repeat(trailing) : '';
    if (chomping === '+') text += '\n'.repeat(trailing + 1);
    else if (chomping === '') text += '\n';
    return text;
  }
}

function foldLines(lines: readonly string[]): string {
  let out = '';
  let previous: 'none' | 'normal' | 'more' = 'none';
  let empties = 0;
  for (const line of lines) {
    if (line === '') {
      empties++;
      continue;
    }
    const kind = line.startsWith(' ') || line.startsWith('\t') ? 'more' : 'normal';
    if (previous === 'none') out += '\n'.repeat(empties);
    else if (previous === 'normal' && kind === 'normal') out += empties === 0 ? ' ' : '\n'.repeat(empties);
    else out += '\n'.repeat(empties + 1);
    out += line;
    previous = kind;
    empties = 0;
  }
  return out;
}

function isSequenceEntry(content: string): boolean {
  return content.charCodeAt(0) === 45 && (content.length === 1 || content.charCodeAt(1) === 32);
}

/** Index of the `:` ending a mapping key on this line, or -1 when the line is not `key: ...`. */
function findKeyEnd(content: string): number {
  const first = content.charAt(0);
  if (first === '"' || first === "'") {
    const end = findQuoteEnd(content, first);
    if (end < 0) return -1;
    const colon = end + 1;
    return content.charAt(colon) === ':' && (colon + 1 === content.length || content.charAt(colon + 1) === ' ')
      ? colon
      : -1;
  }
  if (first === '#' || first === '[' || first === '{' || first === '?' || first === '&' || first === '*') return -1;
  if (first === '!' || first === '|' || first === '>' || first === '%' || first === '@' || first === '`') return -1;
  if (first === ',' || first === ']' || first === '}') return -1;
  for (let i = content.indexOf(':'); i >= 0; i = content.indexOf(':', i + 1)) {
    const next = content.charAt(i + 1);
    if (next === ' ' || next === '') {
      const key = content.slice(0, i);
      if (key.includes(' #')) return -1;
      return i;
    }
  }
  return -1;
}

function parseKey(raw: string): string {
  const key = raw.trimEnd();
  const first = key.charAt(0);
  const value = first === '"' || first === "'" ? unquote(key) : resolvePlain(key);
  if (value === null || typeof value === 'object') bail();
  const text = String(value);
  if (text === '__proto__') bail();
  // A plain key that resolves to a number keeps yaml's stringification (e.g. `1e3` -> "1000"), so compare forms.
  if (typeof value === 'number' && first !== '"' && first !== "'" && String(value) !== key) bail();
  return text;
}

function findQuoteEnd(source: string, quote: string): number {
  for (let i = 1; i < source.length; i++) {
    const c = source.charAt(i);
    if (quote === '"' && c === '\\') {
      i++;
      continue;
    }
    if (c === quote) {
      if (quote === "'" && source.charAt(i + 1) === "'") {
        i++;
        continue;
      }
      return i;
    }
  }
  return -1;
}

const escapes: Readonly<Record<string, string>> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  t: '\t',
  '\t': '\t',
  n: '\n',
  v: '\v',
  f: '\f',
  r: '\r',
  e: '\x1b',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
};

/** A complete quoted scalar (quotes included) -> its value, with YAML line folding. */
function unquote(source: string): string {
  const quote = source.charAt(0);
  const inner = source.slice(1, -1);
  const folded = inner.includes('\n') ? foldQuoted(inner, quote) : inner;
  if (quote === "'") return folded.replaceAll("''", "'");
  if (!folded.includes('\\')) return folded;
  let out = '';
  for (let i = 0; i < folded.length; i++) {
    const c = folded.charAt(i);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = folded.charAt(++i);
    const simple = escapes[e];
    if (simple !== undefined) out += simple;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const length = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = folded.slice(i + 1, i + 1 + length);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== length) bail();
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      i += length;
    } else bail();
  }
  return out;
}

function foldQuoted(inner: string, quote: string): string {
  const lines = inner.split('\n');
  let out = (lines[0] as string).replace(/[ \t]+$/, '');
  let empties = 0;
  for (let i = 1; i < lines.length; i++) {
    const isLast = i === lines.length - 1;
    const line = (lines[i] as string).replace(/^[ \t]+/, '');
    const trimmed = isLast ? line : line.replace(/[ \t]+$/, '');
    if (trimmed === '' && !isLast) {
      empties++;
      continue;
    }
    if (quote === '"' && out.endsWith('\\') && !out.endsWith('\\\\')) {
      out = out.slice(0, -1) + '\n'.repeat(empties);
    } else out += empties === 0 ? ' ' : '\n'.repeat(empties);
    out += trimmed;
    empties = 0;
  }
  return out;
}

function stripComment(text: string): string {
  const hash = text.indexOf(' #');
  return (hash >= 0 ? text.slice(0, hash) : text).trimEnd();
}

/** YAML 1.2 core schema resolution of a plain scalar. */
function resolvePlain(text: string): unknown {
  switch (text) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  const c = text.charCodeAt(0);
  if (!((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46)) return text;
  if (/^[-+]?[0-9]+$/.test(text)) {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) bail();
    return value;
  }
  if (/^0o[0-7]+$/.test(text) || /^0x[0-9a-fA-F]+$/.test(text)) bail();
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/.test(text)) bail();
  return text;
}

/** Single-line flow collections: `[a, 'b', {c: d}]`. Anything fancier is left to the full parser. */
class FlowReader {
  private at = 0;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  readValue(): unknown {
    this.skipSpace();
    const c = this.source.charAt(this.at);
    if (c === '[') return this.readList();
    if (c === '{') return this.readMap();
    if (c === '"' || c === "'") {
      const end = findQuoteEnd(this.source.slice(this.at), c);
      if (end < 0) bail();
      const value = unquote(this.source.slice(this.at, this.at + end + 1));
      this.at += end + 1;
      return value;
    }
    const match = /^[^,[\]{}#:]*/.exec(this.source.slice(this.at));
    const text = match?.[0] ?? '';
    const raw = text.trim();
    if (raw === '' || /^[&*!?%@`|>-]/.test(raw)) bail();
    // `key :` in a flow mapping: `yaml` keeps the space in the key; `a:b` is one scalar, not a key and a value
    // (both found by differential fuzzing).
    const stop = this.source.charAt(this.at + text.length);
    if (stop === ':' && text !== text.trimEnd()) bail();
    if (stop === ':' && !' ,]}'.includes(this.source.charAt(this.at + text.length + 1))) bail();
    this.at += match?.[0].length ?? 0;
    return resolvePlain(raw);
  }

  expectEnd(): void {
    const end = this.at;
    this.skipSpace();
    const rest = this.source.slice(this.at);
    // A comment must be separated from the collection by white space.
    if (rest !== '' && (!rest.startsWith('#') || this.at === end)) bail();
  }

  private readList(): unknown[] {
    this.at++;
    const list: unknown[] = [];
    this.skipSpace();
    if (this.source.charAt(this.at) === ']') {
      this.at++;
      return list;
    }
    for (;;) {
      list.push(this.readValue());
      this.skipSpace();
      const c = this.source.charAt(this.at++);
      if (c === ']') return list;
      if (c !== ',') bail();
      this.skipSpace();
      if (this.source.charAt(this.at) === ']') {
        this.at++;
        return list;
      }
    }
  }

  private readMap(): Record<string, unknown> {
    this.at++;
    const map: Record<string, unknown> = {};
    this.skipSpace();
    if (this.source.charAt(this.at) === '}') {
      this.at++;
      return map;
    }
    for (;;) {
      const key = this.readValue();
      if (typeof key !== 'string' || key === '__proto__') bail();
      this.skipSpace();
      if (this.source.charAt(this.at) !== ':') bail();
      this.at++;
      setKey(map, key, this.readValue());
      this.skipSpace();
      const c = this.source.charAt(this.at++);
      if (c === '}') return map;
      if (c !== ',') bail();
    }
  }

  private skipSpace(): void {
    while (this.source.charAt(this.at) === ' ') this.at++;
  }
}
