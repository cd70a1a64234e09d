import type { NamedTool, ServiceCatalog, ToolSafety } from '../core/index.ts';

/** One search hit. */
export interface ToolSearchHit {
  readonly tool: NamedTool;
  readonly score: number;
}

export interface ToolSearchQuery {
  readonly query: string;
  /** Only tools of this service. */
  readonly service?: string;
  /** `read`: only safe tools; `write`: only tools with side effects. */
  readonly access?: 'read' | 'write';
  /** Only tools this predicate admits (the toolset's allowed set), applied at query time. */
  readonly allowed?: (name: string) => boolean;
  readonly limit: number;
}

export interface ToolSearchIndex {
  readonly service: string;
  search(query: ToolSearchQuery): ToolSearchHit[];
}

/** Field weights of BM25F: a word in a tool's name or title says more than one deep in its description. */
const weights = { name: 3, title: 3, tags: 2, parameters: 1, description: 1 } as const;
const k1 = 1.2;
const b = 0.75;

const stopWords = new Set(
  'a an the of for to in on at by with from and or my our your their this that these those it its is are be was were i we you me us can could would should will do does did how what which who whose where when all any some please want need get via using use into about as so'
    .split(' ')
    .filter((word) => !['get', 'all'].includes(word)),
);

/**
 * Groups of words a person uses for the same thing, expanded at query time (each query word also matches its
 * group at a lower weight). Domain words of common APIs plus everyday verbs.
 */
const synonymGroups: readonly (readonly string[])[] = [
  ['repo', 'repository'],
  ['pr', 'pull'],
  ['issue', 'ticket', 'bug'],
  ['delete', 'remove', 'destroy', 'erase', 'drop'],
  ['create', 'add', 'new', 'make', 'open', 'start', 'post'],
  ['list', 'all', 'enumerate', 'browse'],
  ['get', 'fetch', 'retrieve', 'read', 'show', 'view', 'detail', 'look'],
  ['update', 'edit', 'modify', 'change', 'rename', 'set'],
  ['comment', 'reply', 'note'],
  ['star', 'favorite', 'bookmark'],
  ['user', 'member', 'person', 'people', 'account'],
  ['org', 'organization', 'company'],
  ['webhook', 'hook', 'callback'],
  ['workflow', 'action', 'ci', 'pipeline'],
  ['gist', 'snippet'],
  ['customer', 'client', 'buyer', 'shopper'],
  ['charge', 'payment', 'pay'],
  ['refund', 'reimburse'],
  ['invoice', 'bill'],
  ['subscription', 'recurring', 'subscribe'],
  ['price', 'pricing', 'cost'],
  ['product', 'item', 'good'],
  ['coupon', 'discount', 'promo', 'promotion'],
  ['dispute', 'chargeback'],
  ['payout', 'withdraw', 'withdrawal'],
  ['balance', 'fund'],
  ['find', 'search', 'lookup', 'query'],
  ['cancel', 'stop', 'terminate', 'end'],
  ['collaborator', 'contributor'],
  ['key', 'ssh', 'gpg'],
  ['notification', 'alert', 'inbox'],
  ['download', 'archive', 'tarball', 'zipball'],
  ['file', 'content', 'contents'],
  ['run', 'execution', 'build'],
  ['log', 'logs', 'output'],
  ['card', 'source'],
  ['email', 'mail'],
  ['mine', 'authenticated', 'me', 'my'],
];

const synonyms = new Map<string, string[]>();
for (const group of synonymGroups) {
  const stems = group.flatMap((phrase) => tokenize(phrase));
  for (const stem of stems) synonyms.set(stem, [...(synonyms.get(stem) ?? []), ...stems.filter((s) => s !== stem)]);
}

/** What a verb in a query says about the HTTP method a person means. */
const intents: readonly { readonly words: readonly string[]; readonly methods: readonly string[] }[] = [
  { words: ['delet', 'remov', 'destroy', 'eras', 'drop', 'unstar', 'unfollow'], methods: ['DELETE'] },
  {
    words: ['creat', 'add', 'new', 'make', 'open', 'post', 'send', 'upload', 'invit', 'start'],
    methods: ['POST', 'PUT'],
  },
  { words: ['updat', 'edit', 'chang', 'modifi', 'renam', 'set', 'replac'], methods: ['PATCH', 'PUT', 'POST'] },
  {
    words: ['list', 'get', 'show', 'view', 'fetch', 'see', 'find', 'search', 'look', 'retriev', 'check', 'read'],
    methods: ['GET'],
  },
];

interface Document {
  readonly tool: NamedTool;
  readonly terms: Map<string, number>;
  readonly length: number;
}

const indexes = new WeakMap<ServiceCatalog, ToolSearchIndex>();

/**
 * The BM25F search index of one bound catalogue, built once per (catalogue, service) and shared by every tenant
 * and toolset (filters apply at query time). Fields: name, title, tags, parameter names and description.
 * Queries are expanded with synonyms, and a verb that names an HTTP method (delete, create, list ...) favours
 * tools with that method.
 */
export function createToolSearchIndex(catalog: ServiceCatalog): ToolSearchIndex {
  const known = indexes.get(catalog);
  if (known !== undefined) return known;
  const documents: Document[] = [];
  const frequency = new Map<string, number>();
  let totalLength = 0;
  for (const named of catalog.tools) {
    const terms = new Map<string, number>();
    let length = 0;
    const add = (text: string, weight: number) => {
      for (const term of tokenize(text)) {
        terms.set(term, (terms.get(term) ?? 0) + weight);
        length += weight;
      }
    };
    const { tool } = named;
    add(tool.key.replace(/[_/-]+/g, ' '), weights.name);
    add(tool.title, weights.title);
    add(tool.tags.join(' '), weights.tags);
    const properties = tool.inputSchema['properties'];
    if (properties !== null && typeof properties === 'object')
      add(Object.keys(properties).join(' '), weights.parameters);
    add(tool.description.slice(0, 600), weights.description);
    for (const term of terms.keys()) frequency.set(term, (frequency.get(term) ?? 0) + 1);
    documents.push({ tool: named, terms, length });
    totalLength += length;
  }
  const averageLength = totalLength / Math.max(1, documents.length);
  const idf = new Map<string, number>();
  for (const [term, count] of frequency) {
    idf.set(term, Math.log(1 + (documents.length - count + 0.5) / (count + 0.5)));
  }

  const index: ToolSearchIndex = {
    service: catalog.service,
    search(query) {
      if (query.service !== undefined && query.service !== catalog.service) return [];
      const words = tokenize(query.query);
      const expanded = new Map<string, number>();
      for (const word of words) {
        expanded.set(word, Math.max(expanded.get(word) ?? 0, 1));
        for (const synonym of synonyms.get(word) ?? []) {
          expanded.set(synonym, Math.max(expanded.get(synonym) ?? 0, 0.4));
        }
      }
      const methods = new Set(
        intents.filter((intent) => words.some((w) => intent.words.includes(w))).flatMap((i) => i.methods),
      );
      const hits: ToolSearchHit[] = [];
      for (const document of documents) {
        const { tool } = document;
        if (query.allowed !== undefined && !query.allowed(tool.name)) continue;
        if (query.access !== undefined && (query.access === 'read') !== isRead(tool.tool.safety)) continue;
        let score = 0;
        for (const [term, boost] of expanded) {
          const tf = document.terms.get(term);
          if (tf === undefined) continue;
          const norm = tf + k1 * (1 - b + (b * document.length) / averageLength);
          score += boost * (idf.get(term) ?? 0) * ((tf * (k1 + 1)) / norm);
        }
        if (score === 0) continue;
        if (methods.size > 0 && methods.has(tool.tool.request.method)) score *= 1.25;
        hits.push({ tool, score });
      }
      hits.sort((x, y) => y.score - x.score);
      return hits.slice(0, query.limit);
    },
  };
  indexes.set(catalog, index);
  return index;
}

/** Merges the hits of several services' indexes, best first. */
export function searchToolIndexes(list: readonly ToolSearchIndex[], query: ToolSearchQuery): ToolSearchHit[] {
  return list
    .flatMap((index) => index.search(query))
    .sort((x, y) => y.score - x.score)
    .slice(0, query.limit);
}

function isRead(safety: ToolSafety): boolean {
  return safety === 'safe';
}

/** Lower-cased words of a text, camelCase split, stop words dropped, crudely stemmed. */
export function tokenize(text: string): string[] {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const out: string[] = [];
  for (const word of words) {
    if (word === '' || stopWords.has(word)) continue;
    out.push(stem(word));
  }
  return out;
}

function stem(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('sses')) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) word = word.slice(0, -1);
  if (word.endsWith('ing') && word.length > 5) return word.slice(0, -3);
  if (word.endsWith('ed') && word.length > 4) return word.slice(0, -2);
  if (word.endsWith('e') && word.length > 4) return word.slice(0, -1);
  return word;
}
