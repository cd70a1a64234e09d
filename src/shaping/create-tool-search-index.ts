import type { NamedTool, ServiceCatalog } from '../core/index.ts';

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

/** The BM25F index of one bound catalogue. Immutable; shared by every tenant and toolset. */
export interface ToolSearchIndex {
  readonly service: string;
  readonly documents: readonly IndexedTool[];
  /** Documents containing each term. */
  readonly frequency: ReadonlyMap<string, number>;
  readonly totalLength: number;
  search(query: ToolSearchQuery): ToolSearchHit[];
}

interface IndexedTool {
  readonly tool: NamedTool;
  readonly terms: ReadonlyMap<string, number>;
  readonly length: number;
  /** `collection` (POST /things, GET /things) or `item` (anything on /things/{id}). */
  readonly target: 'collection' | 'item';
  /** Distinct terms of the title (what the tool is, in a few words). */
  readonly titleTerms: readonly string[];
}

/** Field weights of BM25F: a word in a tool's name or title says more than one deep in its description. */
const weights = { name: 2, title: 3, tags: 1, parameters: 0.2, description: 0.3 } as const;
const k1 = 1.2;
const b = 0.6;
const descriptionChars = 400;

const stopWords = new Set(
  'a an the of for to in on at by with from and or this that these those it its is are be was were we you us can could would should will do does did how please want need via using use into about as so now still just there here then than our your their them they he she his her some any which what who whose where when why have has had am still'.split(
    ' ',
  ),
);

/** Words that mean the signed-in account ("my repos", "who am I"): GitHub says "the authenticated user". */
const selfWords = new Set(['i', 'me', 'my', 'mine', 'myself', 'logged']);

/**
 * Groups of words a person uses for the same thing, expanded at query time (each query word also matches its
 * group at a lower weight). Domain words of common APIs plus everyday verbs.
 */
const synonymGroups: readonly (readonly string[])[] = [
  ['repo', 'repository'],
  ['pr', 'pull'],
  ['issue', 'bug', 'ticket', 'report'],
  ['delete', 'remove', 'destroy', 'erase', 'drop', 'permanently'],
  ['create', 'add', 'new', 'make', 'setup', 'post'],
  ['get', 'fetch', 'retrieve', 'read', 'show', 'view', 'detail', 'look'],
  ['update', 'edit', 'modify', 'change', 'rename', 'close', 'reopen'],
  ['comment', 'reply'],
  ['star', 'favorite', 'bookmark'],
  ['member', 'belong', 'people'],
  ['org', 'organization', 'company'],
  ['webhook', 'hook', 'endpoint'],
  ['workflow', 'action', 'ci', 'pipeline'],
  ['gist', 'snippet'],
  ['customer', 'client', 'buyer', 'shopper'],
  ['charge', 'payment', 'pay', 'charging'],
  ['refund', 'reimburse'],
  ['invoice', 'bill'],
  ['subscription', 'recurring', 'monthly', 'plan', 'subscribe'],
  ['price', 'pricing', 'cost'],
  ['product', 'catalog'],
  ['coupon', 'discount', 'promo', 'off'],
  ['dispute', 'chargeback', 'evidence'],
  ['payout', 'withdraw', 'bank'],
  ['balance', 'money', 'fund'],
  ['search', 'find', 'lookup', 'whose'],
  ['cancel', 'stop', 'terminate', 'abort', 'stuck'],
  ['collaborator', 'access', 'contributor'],
  ['key', 'ssh', 'gpg'],
  ['notification', 'unread', 'inbox'],
  ['download', 'archive', 'tarball', 'zipball'],
  ['content', 'file', 'readme'],
  ['run', 'execution', 'build'],
  ['log', 'logs', 'output'],
  ['card', 'source', 'payment_method'],
  ['latest', 'newest', 'last'],
  ['compare', 'diff', 'changed', 'between', 'difference'],
  ['rate', 'limit', 'quota', 'remaining', 'left'],
  ['request', 'ask'],
  ['reviewer', 'review'],
  ['approve', 'review'],
  ['checkout', 'hosted', 'purchase'],
  ['link', 'shareable'],
  ['dispatch', 'trigger', 'manually', 'kick'],
  ['release', 'publish'],
  ['label', 'triage'],
  ['profile', 'user', 'username'],
  ['secret', 'token', 'credential'],
  ['alert', 'vulnerability'],
  ['capture', 'authorized'],
  ['detach', 'saved'],
];

/** What a verb in a query says about the operation a person means. */
interface Intent {
  readonly methods: ReadonlySet<string>;
  /** Collection operations (create, list) or item operations (get one, update, delete). */
  readonly target?: 'collection' | 'item';
}
const intents: readonly { readonly words: readonly string[]; readonly intent: Intent }[] = [
  {
    words: ['delete', 'remove', 'destroy', 'erase', 'drop', 'unstar', 'unfollow', 'permanently'],
    intent: { methods: new Set(['DELETE', 'POST']) },
  },
  {
    words: [
      'create',
      'add',
      'new',
      'make',
      'post',
      'send',
      'upload',
      'invite',
      'start',
      'publish',
      'share',
      'submit',
      'leave',
      'file',
      'setup',
      'register',
      'kick',
      'rerun',
      'approve',
      'merge',
      'star',
      'fork',
      'give',
      'ask',
      'assign',
      'store',
      'respond',
      'refund',
      'capture',
      'void',
      'finalize',
    ],
    intent: { methods: new Set(['POST', 'PUT']) },
  },
  { words: ['cancel', 'stop', 'abort', 'terminate'], intent: { methods: new Set(['POST', 'DELETE']) } },
  {
    words: ['update', 'edit', 'change', 'modify', 'rename', 'set', 'replace', 'close', 'reopen', 'lock'],
    intent: { methods: new Set(['PATCH', 'PUT', 'POST']), target: 'item' },
  },
  {
    words: ['list', 'which', 'what', 'recent', 'all', 'show', 'any', 'how', 'unread', 'who'],
    intent: { methods: new Set(['GET']) },
  },
  { words: ['search', 'find'], intent: { methods: new Set(['GET']), target: 'collection' } },
  {
    words: ['get', 'view', 'fetch', 'see', 'look', 'read', 'retrieve', 'check', 'is', 'does'],
    intent: { methods: new Set(['GET']) },
  },
];

/** Generic verbs: they say which operation (see intentOf), so they weigh less as search terms than nouns. */
const verbs = new Set(
  'create add new make get list delete remove update set change find search look see view fetch read retrieve check send start give post'
    .split(' ')
    .map(stem),
);
/** Abbreviations people use, expanded at full weight. */
const abbreviations: Readonly<Record<string, readonly string[]>> = {
  pr: ['pull', 'request'],
  prs: ['pull', 'request'],
  ci: ['workflow', 'run'],
  repo: ['repository'],
};
/** Words that only say "a list, please": not search terms at all. */
const intentOnly = new Set(['recent', 'show', 'which', 'what', 'unread', 'look']);

const synonyms = new Map<string, Set<string>>();
for (const group of synonymGroups) {
  const stems = group.map(stem);
  for (const s of stems) {
    const set = synonyms.get(s) ?? new Set<string>();
    for (const other of stems) if (other !== s) set.add(other);
    synonyms.set(s, set);
  }
}

const indexes = new WeakMap<ServiceCatalog, ToolSearchIndex>();

/**
 * The BM25F search index of one bound catalogue, built once per (catalogue, service) and shared by every tenant
 * and toolset (filters apply at query time). Fields: name, title, tags, parameter names, description, and the
 * service id.
 */
export function createToolSearchIndex(catalog: ServiceCatalog): ToolSearchIndex {
  const known = indexes.get(catalog);
  if (known !== undefined) return known;
  const documents: IndexedTool[] = [];
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
    if (properties !== null && typeof properties === 'object') {
      add(Object.keys(properties).join(' '), weights.parameters);
      add(
        bodyFieldsOf(tool.inputSchema, (properties as Record<string, unknown>)['body']).join(' '),
        weights.parameters,
      );
    }
    add(tool.description.slice(0, descriptionChars), weights.description);
    add(catalog.service, 0.5);
    for (const term of terms.keys()) frequency.set(term, (frequency.get(term) ?? 0) + 1);
    const target = /\}\/?$/.test(tool.request.pathTemplate) ? 'item' : 'collection';
    const titleTerms = [...new Set(tokenize(tool.title))];
    documents.push({ tool: named, terms, length, target, titleTerms });
    totalLength += length;
  }
  const index: ToolSearchIndex = {
    service: catalog.service,
    documents,
    frequency,
    totalLength,
    search: (query) => searchToolIndexes([index], query),
  };
  indexes.set(catalog, index);
  return index;
}

/**
 * Searches several services' indexes as one collection: document frequencies and lengths are summed at query
 * time, so scores are comparable across services. Query words are expanded with synonyms and vocabulary
 * prefixes (`assign` finds `assignees`); verbs that name an operation ("delete", "add", "which ...") favour tools
 * with that method, and creations/listings favour collection paths over item paths.
 */
export function searchToolIndexes(list: readonly ToolSearchIndex[], query: ToolSearchQuery): ToolSearchHit[] {
  const chosen = list.filter((index) => query.service === undefined || index.service === query.service);
  if (chosen.length === 0) return [];
  let count = 0;
  let totalLength = 0;
  for (const index of chosen) {
    count += index.documents.length;
    totalLength += index.totalLength;
  }
  const averageLength = totalLength / Math.max(1, count);
  const frequencyOf = (term: string) => chosen.reduce((n, index) => n + (index.frequency.get(term) ?? 0), 0);

  // Identifiers (owner/repo, emails, numbers, versions) name things, not tools.
  const raw = query.query.toLowerCase().replace(/\S+\/\S+|\S+@\S+|\bv?\d[\w.-]*/g, ' ');
  const rawWords = raw.split(/[^a-z0-9]+/).filter(Boolean);
  const weightsOf = new Map<string, number>();
  const want = (term: string, weight: number) => weightsOf.set(term, Math.max(weightsOf.get(term) ?? 0, weight));
  for (const word of tokenize(raw)) {
    for (const expansion of abbreviations[word] ?? []) want(stem(expansion), 1);
    // Verbs mostly say which operation (see intentOf); the nouns say which tool.
    const verb = verbs.has(word);
    if (intentOnly.has(word)) continue;
    want(word, verb ? 0.6 : 1);
    for (const synonym of synonyms.get(word) ?? []) want(synonym, verb ? 0.3 : 0.5);
  }
  if (rawWords.some((word) => selfWords.has(word))) want(stem('authenticated'), 0.8);
  if (rawWords.includes('who')) want('user', 0.4);
  const intent = intentOf(raw, rawWords);
  if (intent?.target === 'collection' && intent.methods.has('GET')) want('list', 1);
  for (const [term, weight] of [...weightsOf]) {
    if (term.length < 4) continue;
    for (const index of chosen) {
      for (const candidate of withPrefix(index, term)) {
        if (candidate !== term && candidate.length - term.length <= 4) want(candidate, weight * 0.6);
      }
    }
  }

  const idf = new Map<string, number>();
  for (const term of weightsOf.keys()) {
    const df = frequencyOf(term);
    if (df > 0) idf.set(term, Math.log(1 + (count - df + 0.5) / (df + 0.5)));
  }
  const hits: ToolSearchHit[] = [];
  for (const index of chosen) {
    for (const document of index.documents) {
      const { tool } = document;
      if (query.allowed !== undefined && !query.allowed(tool.name)) continue;
      if (query.access !== undefined && (query.access === 'read') !== (tool.tool.safety === 'safe')) continue;
      let score = 0;
      for (const [term, weight] of weightsOf) {
        const tf = document.terms.get(term);
        if (tf === undefined) continue;
        const norm = tf + k1 * (1 - b + (b * document.length) / averageLength);
        score += weight * (idf.get(term) ?? 0) * ((tf * (k1 + 1)) / norm);
      }
      if (score === 0) continue;
      // A title the query explains completely ("List pull requests") beats one with concepts the query lacks
      // ("List pull requests associated with a commit").
      if (document.titleTerms.length > 0) {
        let covered = 0;
        for (const term of document.titleTerms) if ((weightsOf.get(term) ?? 0) >= 0.5 || verbs.has(term)) covered++;
        score *= 0.6 + (0.6 * covered) / document.titleTerms.length;
      }
      if (intent !== undefined) {
        const method = tool.tool.request.method;
        if (intent.methods.has(method)) {
          score *= 1.5;
          if (intent.target !== undefined && intent.target === document.target) score *= 1.2;
          if (
            intent.target === undefined &&
            method !== 'GET' &&
            method !== 'DELETE' &&
            document.target === 'collection'
          )
            score *= 1.15;
        } else score *= 0.7;
      }
      hits.push({ tool, score });
    }
  }
  hits.sort((x, y) => y.score - x.score);
  return hits.slice(0, query.limit);
}

/** Top-level property names of the request body (following one local `$ref`), e.g. Stripe's `email`, `name`. */
function bodyFieldsOf(schema: Readonly<Record<string, unknown>>, body: unknown): string[] {
  if (body === null || typeof body !== 'object') return [];
  let target = body as Record<string, unknown>;
  const ref = target['$ref'];
  if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
    const defs = schema['$defs'] as Record<string, Record<string, unknown>> | undefined;
    target = defs?.[ref.slice('#/$defs/'.length)] ?? {};
  }
  const properties = target['properties'];
  return properties !== null && typeof properties === 'object' ? Object.keys(properties).slice(0, 40) : [];
}

const vocabularies = new WeakMap<ToolSearchIndex, readonly string[]>();

/** Terms of an index starting with `prefix` (binary search over its sorted vocabulary). */
function withPrefix(index: ToolSearchIndex, prefix: string): string[] {
  let vocabulary = vocabularies.get(index);
  if (vocabulary === undefined) {
    vocabulary = [...index.frequency.keys()].sort();
    vocabularies.set(index, vocabulary);
  }
  let low = 0;
  let high = vocabulary.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((vocabulary[middle] as string) < prefix) low = middle + 1;
    else high = middle;
  }
  const out: string[] = [];
  for (let i = low; i < vocabulary.length && (vocabulary[i] as string).startsWith(prefix); i++) {
    out.push(vocabulary[i] as string);
  }
  return out;
}

/** The operation the first verb-like word of a query names, if any. */
function intentOf(raw: string, words: readonly string[]): Intent | undefined {
  // "open a PR" creates; "open issues" lists.
  if (/\b(?:open (?:a|an|new)|set ?up)\b/.test(raw)) return intents[1]?.intent;
  if (/\bwho am i\b|\blogged in\b/.test(raw)) return { methods: new Set(['GET']) };
  for (const word of words) {
    const stemmed = stem(word);
    for (const { words: verbs, intent } of intents) {
      if (verbs.includes(word) || verbs.includes(stemmed)) {
        // Plural objects after a listing word mean a list: a collection GET.
        const plural = words.some(
          (w) => w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !stopWords.has(w),
        );
        return intent.methods.has('GET') && intent.methods.size === 1 && plural
          ? { methods: intent.methods, target: 'collection' }
          : intent;
      }
    }
  }
  return undefined;
}

/** Lower-cased words of a text, camelCase split, stop words dropped, lightly stemmed. */
export function tokenize(text: string): string[] {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const out: string[] = [];
  for (const word of words) {
    if (word === '' || stopWords.has(word) || selfWords.has(word)) continue;
    out.push(stem(word));
  }
  return out;
}

function stem(word: string): string {
  let w = word;
  if (w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (w.endsWith('sses')) return w.slice(0, -2);
  if (w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) w = w.slice(0, -3);
  else if (w.endsWith('ed') && w.length > 4) w = w.slice(0, -2);
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  return w;
}
