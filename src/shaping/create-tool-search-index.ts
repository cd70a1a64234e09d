import { editDistance, type NamedTool, type ServiceCatalog } from '../core/index.ts';
import { openWordVectors, type WordVectors } from './_word-vectors.ts';
import { openWordNet, type WordNet, type WordRelation } from './_wordnet.ts';

/** The parts of a tool description a query word can match. */
export type ToolField =
  | 'name'
  | 'title'
  | 'path'
  | 'tags'
  | 'parameters'
  | 'response'
  | 'description'
  | 'method'
  | 'service';
const fieldNames: readonly ToolField[] = [
  'name',
  'title',
  'path',
  'tags',
  'parameters',
  'response',
  'description',
  'method',
  'service',
];

/**
 * Why a hit matched: a query word (or two-word phrase) reached a word of the tool, found in these fields, directly or
 * through `via` (`synonym`, `derived`, `broader`, `narrower`, `gloss`: a WordNet relation to `lemma`; `domain`: the
 * API vocabulary list; `abbreviation`; `typo`; `prefix`; `meaning`: the two words' vectors are close, `similarity`
 * their cosine).
 */
export interface ToolMatchReason {
  readonly word: string;
  readonly term: string;
  readonly fields: readonly ToolField[];
  readonly via?: WordRelation | 'domain' | 'abbreviation' | 'typo' | 'prefix' | 'meaning';
  /** The catalogue word WordNet related the query word to. */
  readonly lemma?: string;
  /** With `via: meaning`: the cosine of the query word's and the tool word's vectors (0..1). */
  readonly similarity?: number;
}

/** One search hit. */
export interface ToolSearchHit {
  readonly tool: NamedTool;
  readonly score: number;
  /** The query words that matched, strongest first. */
  readonly reasons: readonly ToolMatchReason[];
}

export interface ToolSearchQuery {
  readonly query: string;
  /** Only tools of this service. */
  readonly service?: string;
  /** `read`: only safe tools; `write`: only tools with side effects. */
  readonly access?: 'read' | 'write';
  /** Only tools this predicate admits (the toolset's allowed set), applied at query time. */
  readonly allowed?: (name: string) => boolean;
  /** A tool's safety as the toolset classes it (its `policy.safety`); absent: the catalogue's. Drives `access`. */
  readonly safetyOf?: (name: string) => NamedTool['tool']['safety'] | undefined;
  readonly limit: number;
}

/** A catalogue term a query word reaches through WordNet. */
interface RelatedTerm {
  readonly term: string;
  readonly weight: number;
  readonly relation: WordRelation;
  readonly lemma: string;
}

/** One document of a term's posting list: the weighted term frequency and the fields (bit set) it occurs in. */
interface Posting {
  readonly document: number;
  readonly tf: number;
  readonly fields: number;
}

/** The BM25F index of one bound catalogue. Immutable; shared by every tenant and toolset. */
export interface ToolSearchIndex {
  readonly service: string;
  readonly documents: readonly IndexedTool[];
  /** Documents containing each term. */
  readonly frequency: ReadonlyMap<string, number>;
  readonly postings: ReadonlyMap<string, readonly Posting[]>;
  readonly totalLength: number;
  /** WordNet relations precomputed for this catalogue: a word's stem -> catalogue terms it relates to. */
  readonly related: ReadonlyMap<string, readonly RelatedTerm[]>;
  /** Typo lookup: each one-character deletion of a term's stem -> the terms (SymSpell, distance 1). */
  readonly deletions: ReadonlyMap<string, readonly string[]>;
  /** A word of the catalogue for each term (its stem is the term), to explain matches in the API's words. */
  readonly surface: ReadonlyMap<string, string>;
  /**
   * What each tool is about as one unit vector (documents x dimensions; see meaningsOf), or undefined without the
   * word vectors file.
   */
  readonly meanings?: Meanings;
  /** Milliseconds the build took (WordNet included). */
  readonly buildMs: number;
  search(query: ToolSearchQuery): ToolSearchHit[];
}

interface IndexedTool {
  readonly tool: NamedTool;
  /** Weighted frequency and field bit set of each term. */
  readonly terms: ReadonlyMap<string, { readonly tf: number; readonly fields: number }>;
  readonly length: number;
  /** `collection` (POST /things, GET /things) or `item` (anything on /things/{id}). */
  readonly target: 'collection' | 'item';
  /** Distinct terms of the title (what the tool is, in a few words). */
  readonly titleTerms: readonly string[];
}

/** Field weights of BM25F: a word in a tool's name or title says more than one deep in its description. */
const weights: Readonly<Record<ToolField, number>> = {
  name: 2,
  title: 3,
  path: 0.5,
  tags: 1,
  parameters: 0.2,
  response: 0.15,
  description: 0.3,
  method: 0.3,
  service: 0.5,
};
/** Fields whose words WordNet expands and typos are corrected towards (what the tool is about). */
const conceptFields = new Set<ToolField>(['name', 'title', 'path', 'tags']);
/** Weight of a query word's WordNet relative, by relation. */
const relationWeights: Readonly<Record<WordRelation, number>> = {
  synonym: 1,
  derived: 0.8,
  broader: 0.5,
  narrower: 0.5,
  gloss: 0.4,
};
/** Senses of a catalogue word WordNet relations are taken from (the first are the most frequent). */
const wordNetSenses = 3;
const k1 = 1.2;
const b = 0.6;
const descriptionChars = 1500;

const stopWords = new Set(
  'a an the of for to in on at by with from and or this that these those it its is are be was were we you us can could would should will do does did how please want need via using use into about as so now still just there here then than our your their them they he she his her some any which what who whose where when why have has had am still called named'.split(
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
  ['dispatch', 'trigger', 'manually'],
  ['release', 'publish'],
  ['label', 'triage'],
  ['profile', 'user', 'username'],
  ['secret', 'token', 'credential'],
  ['alert', 'vulnerability'],
  ['capture', 'authorized'],
  ['detach', 'saved'],
  // Everyday words for the things chat, media, storage and telephony APIs name in their own words.
  ['channel', 'room', 'conversation'],
  ['guild', 'server'],
  ['message', 'post', 'chat', 'said', 'saying', 'announcement'],
  ['role', 'rank', 'badge', 'moderator'],
  ['member', 'participant', 'person', 'someone'],
  ['track', 'song', 'music', 'tune'],
  ['playback', 'playing', 'listen', 'player'],
  ['pause', 'halt', 'stop'],
  ['volume', 'loud', 'louder', 'quiet', 'quieter'],
  ['repeat', 'loop'],
  ['seek', 'jump', 'position'],
  ['device', 'speaker', 'phone'],
  ['recent', 'lately', 'recently', 'history'],
  ['top', 'biggest', 'hit', 'popular', 'best'],
  ['subscription', 'membership', 'tier', 'month'],
  ['balance', 'cash', 'credit'],
  ['uncollectible', 'write'],
  ['photo', 'avatar', 'picture'],
  ['permalink', 'url', 'link'],
  ['ephemeral', 'private', 'only'],
  ['snooze', 'mute', 'dnd', 'focus', 'silence'],
  ['pin', 'stick', 'stuck'],
  ['upload', 'attach'],
  ['collaboration', 'collaborator', 'share', 'sharing', 'editor'],
  ['group', 'team'],
  ['trash', 'restore', 'recover', 'undelete'],
  ['watermark', 'stamp'],
  ['task', 'assignment', 'todo'],
  ['recording', 'audio'],
  ['queue', 'hold', 'waiting'],
  ['trigger', 'warn', 'notify', 'notified', 'threshold'],
  ['validation', 'verify'],
  ['ban', 'block', 'banned'],
  ['unban', 'lift', 'unblock'],
  ['prune', 'inactive'],
  ['thread', 'discussion'],
  ['lock', 'unlock', 'talk'],
  ['merge', 'land', 'squash'],
  ['readme', 'intro'],
  ['schedule', 'later', 'tomorrow'],
  ['usage', 'spent', 'spend'],
  ['current', 'currently', 'now'],
  // Mail and calendar APIs: Gmail's messages are emails, its labels folders, its threads conversations; a calendar's
  // sharing is its access control list (acl); its events are meetings.
  ['message', 'email', 'mail'],
  ['label', 'folder'],
  ['thread', 'conversation'],
  ['acl', 'access', 'permission', 'sharing'],
  ['event', 'meeting', 'appointment'],
];

/** What a verb in a query says about the operation a person means. */
interface Intent {
  readonly methods: ReadonlySet<string>;
  /** Collection operations (create, list) or item operations (get one, update, delete). */
  readonly target?: 'collection' | 'item';
}
const intents: readonly { readonly words: readonly string[]; readonly intent: Intent }[] = [
  {
    words: [
      'delete',
      'remove',
      'destroy',
      'erase',
      'drop',
      'unstar',
      'unfollow',
      'permanently',
      'kick',
      'nuke',
      'kill',
      'trash',
      'discard',
      'rid',
      'throw',
      'unshare',
      'quit',
    ],
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
    words: [
      'update',
      'edit',
      'change',
      'modify',
      'rename',
      'set',
      'replace',
      'close',
      'reopen',
      'lock',
      'upgrade',
      'downgrade',
      'switch',
      'turn',
      'mark',
    ],
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

/** What a person's name in a request stands for in API words. */
const personWords = ['user', 'member', 'participant', 'collaborator'];

/** Stems of the operation verbs. */
const intentWords = new Set(intents.flatMap(({ words }) => words.map(stem)));

/** The API vocabulary and operation verbs as a typo vocabulary ("muisc" -> music, "uplaod" -> upload). */
const commonWords = (() => {
  const frequency = new Map<string, number>();
  for (const word of [...synonyms.keys(), ...intentWords]) if (word.length >= 4) frequency.set(word, 1);
  const deletions = new Map<string, string[]>();
  for (const word of frequency.keys()) {
    for (const deleted of deletionsOf(word)) deletions.set(deleted, [...(deletions.get(deleted) ?? []), word]);
  }
  return { frequency, deletions };
})();

const indexes = new WeakMap<ServiceCatalog, ToolSearchIndex>();

/**
 * The BM25F search index of one bound catalogue, built once per (catalogue, service) and shared by every tenant
 * and toolset (filters apply at query time). Fields: name, title, path segments, tags, parameter and request body
 * field names, response field names, description, the meaning of the HTTP method (list, get, create, update,
 * delete) and the service id. WordNet relations of the catalogue's concept words (name, title, path, tags) are
 * precomputed here, so a query only looks words up.
 */
export function createToolSearchIndex(catalog: ServiceCatalog): ToolSearchIndex {
  const known = indexes.get(catalog);
  if (known !== undefined) return known;
  const started = performance.now();
  const documents: IndexedTool[] = [];
  const frequency = new Map<string, number>();
  const postingLists = new Map<string, Posting[]>();
  /** Surface words of concept fields by their stem, for WordNet. */
  const conceptWords = new Map<string, Set<string>>();
  const surface = new Map<string, string>();
  let totalLength = 0;
  for (const named of catalog.tools) {
    const terms = new Map<string, { tf: number; fields: number }>();
    let length = 0;
    const add = (text: string, field: ToolField) => {
      const weight = weights[field];
      const bit = 1 << fieldNames.indexOf(field);
      for (const word of wordsOf(text)) {
        const term = stem(word);
        if (!surface.has(term)) surface.set(term, word);
        const entry = terms.get(term);
        if (entry === undefined) terms.set(term, { tf: weight, fields: bit });
        else terms.set(term, { tf: entry.tf + weight, fields: entry.fields | bit });
        length += weight;
        if (conceptFields.has(field) && word.length > 2 && !/\d/.test(word)) {
          const surface = conceptWords.get(term) ?? new Set<string>();
          surface.add(word);
          conceptWords.set(term, surface);
        }
      }
    };
    const { tool } = named;
    const target = /\}\/?$/.test(tool.request.pathTemplate) ? 'item' : 'collection';
    add(tool.key.replace(/[_/-]+/g, ' '), 'name');
    add(tool.title, 'title');
    add(tool.request.pathTemplate.replace(/\{[^}]*\}/g, ' '), 'path');
    add(tool.tags.join(' '), 'tags');
    const properties = tool.inputSchema['properties'];
    if (properties !== null && typeof properties === 'object') {
      add(Object.keys(properties).join(' '), 'parameters');
      add(bodyFieldsOf(tool.inputSchema, (properties as Record<string, unknown>)['body']).join(' '), 'parameters');
    }
    if (tool.outputSchema !== undefined) add(responseFieldsOf(tool.outputSchema).join(' '), 'response');
    add(tool.description.slice(0, descriptionChars), 'description');
    add(methodMeaning(tool.request.method, target), 'method');
    add(catalog.service, 'service');
    const document = documents.length;
    for (const [term, { tf, fields }] of terms) {
      frequency.set(term, (frequency.get(term) ?? 0) + 1);
      let list = postingLists.get(term);
      if (list === undefined) {
        list = [];
        postingLists.set(term, list);
      }
      list.push({ document, tf, fields });
    }
    const titleTerms = [...new Set(tokenize(tool.title))];
    documents.push({ tool: named, terms, length, target, titleTerms });
    totalLength += length;
  }
  const related = relateWithWordNet(conceptWords);
  const wordVectors = openWordVectors();
  const meanings = wordVectors === undefined ? undefined : meaningsOf(catalog.tools, conceptWords, wordVectors);
  const deletions = new Map<string, string[]>();
  for (const term of conceptWords.keys()) {
    if (term.length < 4) continue;
    for (const deleted of deletionsOf(term)) {
      const list = deletions.get(deleted) ?? [];
      if (!list.includes(term)) list.push(term);
      deletions.set(deleted, list);
    }
  }
  const index: ToolSearchIndex = {
    service: catalog.service,
    documents,
    frequency,
    postings: postingLists,
    totalLength,
    related,
    deletions,
    surface,
    ...(meanings === undefined ? {} : { meanings }),
    buildMs: performance.now() - started,
    search: (query) => searchToolIndexes([index], query),
  };
  indexes.set(catalog, index);
  return index;
}

/** Each tool's meaning: its words' vectors summed, centred on the catalogue's mean (what all its tools share). */
interface Meanings {
  readonly vectors: WordVectors;
  /** documents x dimensions, unit rows (a zero row for a tool none of whose words are known). */
  readonly rows: Float32Array;
  /** The catalogue's mean of the uncentred unit rows, subtracted from a query's vector too. */
  readonly mean: Float32Array;
  /** The concept terms (name, title, path, tags) with a vector, and their unit vectors (terms x dimensions). */
  readonly terms: readonly string[];
  readonly termRows: Float32Array;
}

/** What a field says about what a tool is for, as the weight of its words in the tool's meaning. */
const meaningWeights: readonly (readonly [ToolField, number])[] = [
  ['title', 1],
  ['name', 0.5],
  ['tags', 0.5],
  ['path', 0.3],
  ['description', 0.3],
];
/** Characters of a description in a tool's meaning: its first sentence or so. */
const meaningDescriptionChars = 200;

function meaningsOf(
  tools: readonly NamedTool[],
  conceptWords: ReadonlyMap<string, ReadonlySet<string>>,
  vectors: WordVectors,
): Meanings {
  const dimensions = vectors.dimensions;
  const terms: string[] = [];
  const termVectors: Float32Array[] = [];
  for (const [term, surfaces] of conceptWords) {
    if (verbs.has(term)) continue;
    const vector = [...surfaces, term].map((word) => vectors.vectorOf(word)).find((v) => v !== undefined);
    if (vector === undefined) continue;
    terms.push(term);
    termVectors.push(vector);
  }
  const termRows = new Float32Array(terms.length * dimensions);
  for (const [row, vector] of termVectors.entries()) termRows.set(vector, row * dimensions);
  const rows = new Float32Array(tools.length * dimensions);
  const mean = new Float32Array(dimensions);
  for (const [row, { tool }] of tools.entries()) {
    const texts: Record<string, string> = {
      title: tool.title,
      name: tool.key.replace(/[_/-]+/g, ' '),
      tags: tool.tags.join(' '),
      path: tool.request.pathTemplate.replace(/\{[^}]*\}/g, ' '),
      description: tool.description.slice(0, meaningDescriptionChars),
    };
    const weighted = meaningWeights.flatMap(([field, weight]) =>
      wordsOf(texts[field] ?? '').map((word) => ({ word, weight })),
    );
    const vector = meaningOf(vectors, weighted);
    if (vector === undefined) continue;
    rows.set(vector, row * dimensions);
    for (let i = 0; i < dimensions; i++) mean[i] = (mean[i] as number) + (vector[i] as number) / tools.length;
  }
  for (let row = 0; row < tools.length; row++) {
    const vector = rows.subarray(row * dimensions, (row + 1) * dimensions);
    if (vector.every((x) => x === 0)) continue;
    for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] as number) - (mean[i] as number);
    normalize(vector);
  }
  return { vectors, rows, mean, terms, termRows };
}

/** The unit vector of weighted words (each also weighted by how rare it is), undefined when none is known. */
function meaningOf(
  vectors: WordVectors,
  words: readonly { readonly word: string; readonly weight: number }[],
): Float32Array | undefined {
  const sum = new Float32Array(vectors.dimensions);
  let known = false;
  for (const { word, weight } of words) {
    const vector = vectors.vectorOf(word) ?? vectors.vectorOf(stem(word));
    if (vector === undefined) continue;
    known = true;
    const w = weight * vectors.weightOf(word);
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + w * (vector[i] as number);
  }
  return known && normalize(sum) ? sum : undefined;
}

/** Scales a vector to unit length in place; false when it is zero. */
function normalize(vector: Float32Array): boolean {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] as number) ** 2;
  if (norm === 0) return false;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
  return true;
}

/** Cosine of a query's meaning (centred on the index's mean) with each tool's, 0 without meanings. */
function similaritiesOf(meanings: Meanings, query: Float32Array, count: number): Float32Array {
  const dimensions = meanings.vectors.dimensions;
  const centred = Float32Array.from(query, (x, i) => x - (meanings.mean[i] as number));
  const out = new Float32Array(count);
  if (!normalize(centred)) return out;
  const rows = meanings.rows;
  for (let row = 0; row < count; row++) {
    let dot = 0;
    const base = row * dimensions;
    for (let i = 0; i < dimensions; i++) dot += (rows[base + i] as number) * (centred[i] as number);
    out[row] = dot;
  }
  return out;
}

/** What an HTTP method does to a collection or an item, in the words people use for it. */
function methodMeaning(method: string, target: 'collection' | 'item'): string {
  if (method === 'GET') return target === 'collection' ? 'list' : 'get';
  if (method === 'DELETE') return 'delete';
  if (method === 'PUT' || method === 'PATCH') return 'update';
  if (method === 'POST' && target === 'collection') return 'create';
  return '';
}

/**
 * For each stem WordNet relates to a concept word of the catalogue: the catalogue terms it reaches, with the
 * weight of the relation (the strongest when several). Built once per catalogue; the database is dropped after.
 */
function relateWithWordNet(conceptWords: ReadonlyMap<string, ReadonlySet<string>>): Map<string, RelatedTerm[]> {
  const related = new Map<string, RelatedTerm[]>();
  const wordNet: WordNet | undefined = openWordNet();
  if (wordNet === undefined) return related;
  for (const [term, surfaces] of conceptWords) {
    // The generic verbs of operations are matched by intent (see intentOf), not by their relatives.
    if (verbs.has(term)) continue;
    const lemmas = new Set<string>();
    for (const surface of surfaces) for (const lemma of wordNet.lemmasOf(surface)) lemmas.add(lemma);
    for (const lemma of lemmas) {
      for (const { lemma: other, relation } of wordNet.relatedTo(lemma, wordNetSenses)) {
        const key = other.split(' ').map(stem).join(' ');
        if (key === term || key === '') continue;
        const weight = relationWeights[relation];
        const list = related.get(key) ?? [];
        const existing = list.findIndex((entry) => entry.term === term);
        if (existing === -1) list.push({ term, weight, relation, lemma });
        else if ((list[existing] as RelatedTerm).weight < weight) list[existing] = { term, weight, relation, lemma };
        related.set(key, list);
      }
    }
  }
  return related;
}

function deletionsOf(word: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
  return out;
}

/** What the query wants of each term: its weight and how a query word reached it. */
interface Wanted {
  readonly weight: number;
  readonly word: string;
  readonly via?: ToolMatchReason['via'];
  readonly lemma?: string;
  readonly similarity?: number;
}

/**
 * Searches several services' indexes as one collection: document frequencies and lengths are summed at query
 * time, so scores are comparable across services. Query words are expanded with the API vocabulary list,
 * abbreviations, WordNet relatives precomputed per catalogue, vocabulary prefixes (`assign` finds `assignees`) and
 * typo corrections (one edit); verbs that name an operation ("delete", "add", "which ...") favour tools with that
 * method, and creations/listings favour collection paths over item paths. Each hit says which query words matched
 * which fields, and through what.
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
  const raw = query.query
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\S+\/\S+|\S+@\S+|\bv?\d[\w.-]*/g, ' ');
  const rawWords = raw.split(/[^a-z0-9]+/).filter(Boolean);
  const wanted = new Map<string, Wanted>();
  const want = (term: string, weight: number, reason: Omit<Wanted, 'weight'>) => {
    const known = wanted.get(term);
    if (known === undefined || known.weight < weight) wanted.set(term, { weight, ...reason });
  };
  const words = tokenize(raw).flatMap((term) => {
    const base = irregular[term];
    return base === undefined ? [term] : [term, base];
  });
  const expand = (word: string, factor: number, said: string) => {
    const typo = said !== word ? { via: 'typo' as const } : {};
    for (const expansion of abbreviations[word] ?? []) {
      want(stem(expansion), factor, { word: said, via: 'abbreviation' });
    }
    // Verbs mostly say which operation (see intentOf); the nouns say which tool.
    const verb = verbs.has(word);
    if (intentOnly.has(word)) return;
    want(word, (verb ? 0.6 : 1) * factor, { word: said, ...typo });
    for (const synonym of synonyms.get(word) ?? []) {
      want(synonym, (verb ? 0.3 : 0.5) * factor, { word: said, via: 'domain' });
    }
    const known = chosen.some((index) => index.frequency.has(word));
    for (const index of chosen) {
      for (const { term, weight, relation, lemma } of index.related.get(word) ?? []) {
        want(term, (verb ? 0.6 : 1) * weight * (known ? 0.6 : 1) * factor, { word: said, via: relation, lemma });
      }
    }
  };
  /** Words one edit from a known word, by the corrected word (for the intent of "delet", "uplaod"). */
  const corrected = new Map<string, string>();
  for (const word of words) {
    if (word.length < 4 || isKnownWord(chosen, word)) {
      expand(word, 1, word);
      continue;
    }
    const corrections = new Set(typoCandidates(commonWords, word));
    for (const index of chosen) for (const term of typoCandidates(index, word)) corrections.add(term);
    if (corrections.size === 0) expand(word, 1, word);
    for (const correction of corrections) {
      if (!corrected.has(word)) corrected.set(word, correction);
      expand(correction, 0.8, word);
    }
  }
  // Catalogue words whose vectors are close to a query word's ("ballad" -> album), weighted by their cosine.
  // The word vectors every index with meanings shares (one file per process), for the query's words.
  const vectors = chosen.find((index) => index.meanings !== undefined)?.meanings?.vectors;
  if (vectors !== undefined && neighbourWeight > 0) {
    for (const said of new Set(rawWords)) {
      if (stopWords.has(said) || selfWords.has(said) || intentOnly.has(said) || verbs.has(stem(said))) continue;
      // Only words the catalogue does not use need the bridge (for the others it adds more noise than hits).
      if (chosen.some((index) => index.frequency.has(stem(said)))) continue;
      const vector = vectors.vectorOf(irregular[said] ?? said);
      if (vector === undefined) continue;
      // The closest few over all the indexes searched together (a term several share counts once).
      const closest = new Map<string, number>();
      for (const index of chosen) {
        if (index.meanings === undefined) continue;
        for (const { term, similarity } of closestTerms(index.meanings, vector)) {
          if (term !== stem(said) && similarity > (closest.get(term) ?? 0)) closest.set(term, similarity);
        }
      }
      for (const [term, similarity] of [...closest].sort((x, y) => y[1] - x[1]).slice(0, neighbourCount)) {
        want(term, neighbourWeight * ((similarity - neighbourFloor) / (1 - neighbourFloor)), {
          word: said,
          via: 'meaning',
          similarity: Math.round(similarity * 100) / 100,
        });
      }
    }
  }
  // Two-word lemmas ("give back", "sign up"): adjacent words, or a verb and its particle a few words on.
  for (let i = 0; i < rawWords.length; i++) {
    for (let j = i + 1; j < Math.min(rawWords.length, i + 6); j++) {
      if (j > i + 1 && !particles.has(rawWords[j] as string)) continue;
      const first = irregular[stem(rawWords[i] as string)] ?? stem(rawWords[i] as string);
      const phrase = `${first} ${stem(rawWords[j] as string)}`;
      for (const index of chosen) {
        for (const { term, weight, relation, lemma } of index.related.get(phrase) ?? []) {
          want(term, weight * 1.2, { word: `${rawWords[i]} ${rawWords[j]}`, via: relation, lemma });
        }
      }
    }
  }
  if (rawWords.some((word) => selfWords.has(word))) want(stem('authenticated'), 0.8, { word: 'me' });
  // A capitalised unknown word inside the request is most often a person ("kick Tom", "ask Ben").
  for (const name of query.query.match(/(?<=\S\s+)\p{Lu}\p{Ll}+\b/gu) ?? []) {
    if (isKnownWord(chosen, stem(name.toLowerCase()))) continue;
    for (const term of personWords) want(term, 0.25, { word: name, via: 'domain' });
  }
  if (rawWords.includes('who')) {
    want('user', 0.4, { word: 'who', via: 'domain' });
    want('member', 0.4, { word: 'who', via: 'domain' });
  }
  const intent = intentOf(
    raw,
    rawWords.map((word) => corrected.get(stem(word)) ?? word),
  );
  if (intent?.target === 'collection' && intent.methods.has('GET')) want('list', 1, { word: 'list' });
  for (const [term, reason] of [...wanted]) {
    if (term.length < 4 || reason.via !== undefined) continue;
    for (const index of chosen) {
      for (const candidate of withPrefix(index, term)) {
        if (candidate !== term && candidate.length - term.length <= 4) {
          want(candidate, reason.weight * 0.6, { word: reason.word, via: 'prefix' });
        }
      }
    }
  }

  const scored: { term: string; weight: number; idf: number }[] = [];
  for (const [term, { weight }] of wanted) {
    const df = frequencyOf(term);
    if (df > 0) scored.push({ term, weight, idf: Math.log(1 + (count - df + 0.5) / (df + 0.5)) });
  }
  // BM25F scores of the documents the filters admit; then only those whose score, times the largest boost,
  // can still reach the limit-th score times the smallest boost are ranked (exact: no hit is lost).
  // The query's meaning (its content words' vectors) adds to each tool's score in proportion to how close the
  // tool's meaning is, past a floor: `meaningWeight` times the best lexical score at similarity 1.
  const meaningWords = rawWords
    .filter((word) => !stopWords.has(word) && !selfWords.has(word) && !intentOnly.has(word))
    .map((word) => ({ word: irregular[word] ?? word, weight: verbs.has(stem(word)) ? 0.5 : 1 }));
  const queryMeaning = vectors === undefined ? undefined : meaningOf(vectors, meaningWords);
  const lexical = chosen.map((index) => scoreDocuments(index, scored, averageLength));
  let best = 0;
  for (const scores of lexical) for (const score of scores) if (score > best) best = score;
  const meaningScale = meaningWeight * (best > 0 ? best : 1);
  const candidates: { index: ToolSearchIndex; position: number; raw: number; similarity: number }[] = [];
  for (const [i, index] of chosen.entries()) {
    const scores = lexical[i] as Float64Array;
    const similarities =
      queryMeaning === undefined || index.meanings === undefined
        ? undefined
        : similaritiesOf(index.meanings, queryMeaning, scores.length);
    for (let position = 0; position < scores.length; position++) {
      const similarity = similarities?.[position] ?? 0;
      const raw =
        (scores[position] as number) +
        (similarity > meaningFloor ? (meaningScale * (similarity - meaningFloor)) / (1 - meaningFloor) : 0);
      if (raw === 0) continue;
      const named = (index.documents[position] as IndexedTool).tool;
      const safety = query.safetyOf?.(named.name) ?? named.tool.safety;
      if (query.access !== undefined && (query.access === 'read') !== (safety === 'safe')) continue;
      if (query.allowed !== undefined && !query.allowed(named.name)) continue;
      candidates.push({ index, position, raw, similarity });
    }
  }
  let floor = 0;
  if (candidates.length > query.limit * 4) {
    const raws = Float64Array.from(candidates, (candidate) => candidate.raw).sort();
    floor = ((raws[raws.length - query.limit] as number) * minBoost) / maxBoost;
  }
  const hits: { index: ToolSearchIndex; document: IndexedTool; score: number; similarity: number }[] = [];
  for (const { index, position, raw, similarity } of candidates) {
    if (raw < floor) continue;
    const document = index.documents[position] as IndexedTool;
    const { tool } = document;
    let score = raw;
    // A title the query explains completely ("List pull requests") beats one with concepts the query lacks
    // ("List pull requests associated with a commit").
    const titleTerms = document.titleTerms;
    if (titleTerms.length > 0) {
      let covered = 0;
      for (let i = 0; i < titleTerms.length; i++) {
        const term = titleTerms[i] as string;
        if ((wanted.get(term)?.weight ?? 0) >= 0.5 || verbs.has(term)) covered++;
      }
      score *= 0.6 + (0.6 * covered) / titleTerms.length;
    }
    if (intent !== undefined) score *= intentBoost(intent, tool.tool.request.method, document.target);
    hits.push({ index, document, score, similarity });
  }
  hits.sort((x, y) => y.score - x.score);
  return hits.slice(0, query.limit).map(({ index, document, score, similarity }) => {
    const reasons = reasonsOf(index, document, wanted);
    if (vectors !== undefined && similarity > meaningFloor) {
      reasons.push(...meaningReasonsOf(vectors, document, meaningWords, new Set(reasons.map(({ word }) => word))));
    }
    return { tool: document.tool, score, reasons };
  });
}

/** BM25F scores of every document of an index for the weighted query terms (0: no term matched). */
function scoreDocuments(
  index: ToolSearchIndex,
  scored: readonly { readonly term: string; readonly weight: number; readonly idf: number }[],
  averageLength: number,
): Float64Array {
  const scores = new Float64Array(index.documents.length);
  const documents = index.documents;
  for (let t = 0; t < scored.length; t++) {
    const { term, weight, idf } = scored[t] as { term: string; weight: number; idf: number };
    const postings = index.postings.get(term);
    if (postings === undefined) continue;
    for (let p = 0; p < postings.length; p++) {
      const posting = postings[p] as Posting;
      const tf = posting.tf;
      const norm = tf + k1 * (1 - b + (b * (documents[posting.document] as IndexedTool).length) / averageLength);
      scores[posting.document] = (scores[posting.document] as number) + weight * idf * ((tf * (k1 + 1)) / norm);
    }
  }
  return scores;
}

/**
 * A catalogue concept word (name, title, path, tags) whose vector is close to a query word's is wanted with this
 * weight at cosine 1, falling to 0 at `neighbourFloor`; the closest `neighbourCount` of each query word.
 */
const neighbourWeight = 0.8;
const neighbourFloor = 0.5;
const neighbourCount = 5;

/** The concept terms of an index closest to a word's vector (cosine over neighbourFloor), closest first. */
function closestTerms(meanings: Meanings, vector: Float32Array): { term: string; similarity: number }[] {
  const dimensions = vector.length;
  const rows = meanings.termRows;
  const out: { term: string; similarity: number }[] = [];
  for (let row = 0; row < meanings.terms.length; row++) {
    let dot = 0;
    const base = row * dimensions;
    for (let i = 0; i < dimensions; i++) dot += (rows[base + i] as number) * (vector[i] as number);
    if (dot > neighbourFloor) out.push({ term: meanings.terms[row] as string, similarity: dot });
  }
  return out.sort((x, y) => y.similarity - x.similarity).slice(0, neighbourCount);
}

/** How much a tool's meaning close to the query's adds, as a share of the best lexical score (see meaningFloor). */
const meaningWeight = 0.5;
/** Cosines of a query's and a tool's meaning up to this add nothing (texts on other things are rarely above). */
const meaningFloor = 0.3;
/** A query word and a tool word explain a hit by meaning from this cosine on. */
const meaningWordFloor = 0.45;

/**
 * Why a hit's meaning is close to the query's: for each query word no other reason explains, the tool word of its
 * title or name closest to it, when close enough.
 */
function meaningReasonsOf(
  vectors: WordVectors,
  document: IndexedTool,
  words: readonly { readonly word: string }[],
  explained: ReadonlySet<string>,
): ToolMatchReason[] {
  const { tool } = document.tool;
  const toolWords = [
    ...wordsOf(tool.title).map((word) => ({ word, field: 'title' as const })),
    ...wordsOf(tool.key.replace(/[_/-]+/g, ' ')).map((word) => ({ word, field: 'name' as const })),
  ];
  const out: { reason: ToolMatchReason; similarity: number }[] = [];
  for (const { word } of words) {
    if (explained.has(word)) continue;
    const vector = vectors.vectorOf(word);
    if (vector === undefined) continue;
    let closest: { word: string; field: ToolField; similarity: number } | undefined;
    for (const candidate of toolWords) {
      const other = vectors.vectorOf(candidate.word);
      if (other === undefined || candidate.word === word) continue;
      let dot = 0;
      for (let i = 0; i < vector.length; i++) dot += (vector[i] as number) * (other[i] as number);
      if (dot >= meaningWordFloor && (closest === undefined || dot > closest.similarity)) {
        closest = { ...candidate, similarity: dot };
      }
    }
    if (closest === undefined) continue;
    const similarity = Math.round(closest.similarity * 100) / 100;
    out.push({
      reason: { word, term: closest.word, fields: [closest.field], via: 'meaning', similarity },
      similarity,
    });
  }
  return out.sort((x, y) => y.similarity - x.similarity).map(({ reason }) => reason);
}

/** The smallest and largest factor the title coverage and intent boosts apply to a BM25F score. */
const minBoost = 0.6 * 0.7;
const maxBoost = 1.2 * 1.5 * 1.2;

/** How much the operation a query's verb names favours a tool of this method and target (1.5x, 0.7x ...). */
function intentBoost(intent: Intent, method: string, target: 'collection' | 'item'): number {
  if (!intent.methods.has(method)) return 0.7;
  let boost = 1.5;
  if (intent.target !== undefined && intent.target === target) boost *= 1.2;
  if (intent.target === undefined && method !== 'GET' && method !== 'DELETE' && target === 'collection') boost *= 1.15;
  return boost;
}

/** The query words that matched a document, strongest first, one reason per query word. */
function reasonsOf(
  index: ToolSearchIndex,
  document: IndexedTool,
  wanted: ReadonlyMap<string, Wanted>,
): ToolMatchReason[] {
  const best = new Map<string, { strength: number; reason: ToolMatchReason }>();
  for (const [term, { weight, word, via, lemma, similarity }] of wanted) {
    const entry = document.terms.get(term);
    if (entry === undefined) continue;
    const strength = weight * entry.tf;
    const known = best.get(word);
    if (known !== undefined && known.strength >= strength) continue;
    const fields = fieldNames.filter((_, bit) => (entry.fields & (1 << bit)) !== 0);
    best.set(word, {
      strength,
      reason: {
        word,
        term: index.surface.get(term) ?? term,
        fields,
        ...(via === undefined ? {} : { via }),
        ...(lemma === undefined ? {} : { lemma }),
        ...(similarity === undefined ? {} : { similarity }),
      },
    });
  }
  return [...best.values()].sort((x, y) => y.strength - x.strength).map(({ reason }) => reason);
}

/** Whether an index, the API vocabulary or the operation verbs know a word (else it may be a typo). */
function isKnownWord(chosen: readonly ToolSearchIndex[], word: string): boolean {
  return (
    synonyms.has(word) ||
    verbs.has(word) ||
    intentWords.has(word) ||
    abbreviations[word] !== undefined ||
    chosen.some((index) => index.frequency.has(word) || index.related.has(word))
  );
}

/** Terms one edit from `word` (insertion, deletion, substitution, transposition) in a vocabulary. */
function typoCandidates(
  vocabulary: {
    readonly frequency: ReadonlyMap<string, unknown>;
    readonly deletions: ReadonlyMap<string, readonly string[]>;
  },
  word: string,
): string[] {
  const out = new Set<string>();
  for (const term of vocabulary.deletions.get(word) ?? []) out.add(term);
  for (const deleted of deletionsOf(word)) {
    if (vocabulary.frequency.has(deleted) && deleted.length >= 4) out.add(deleted);
    for (const term of vocabulary.deletions.get(deleted) ?? []) out.add(term);
  }
  return [...out].filter((term) => editDistance(term, word) <= 1);
}

/** Property names of a response schema (top level, and of the items of a top-level array). */
function responseFieldsOf(schema: Readonly<Record<string, unknown>>): string[] {
  const items = schema['items'];
  const target = (items !== null && typeof items === 'object' ? items : schema) as Record<string, unknown>;
  const properties = target['properties'];
  return properties !== null && typeof properties === 'object' ? Object.keys(properties).slice(0, 40) : [];
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
  if (/\b(?:open (?:a|an|new)|set ?up|spin up|kick off)\b/.test(raw)) return intents[1]?.intent;
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
  return wordsOf(text).map(stem);
}

/** Lower-cased words of a text, camelCase split, stop words dropped. */
function wordsOf(text: string): string[] {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.filter((word) => word !== '' && !stopWords.has(word) && !selfWords.has(word));
}

/** Irregular verb forms people write ("paid", "sent"), by stem -> the stem of the base form. */
const irregular: Readonly<Record<string, string>> = Object.fromEntries(
  (
    'paid:pay sent:send gave:give given:give took:take taken:take made:make left:leave got:get gotten:get sold:sell ' +
    'bought:buy ran:run wrote:write written:write began:begin begun:begin told:tell kept:keep met:meet ' +
    'found:find lost:lose spent:spend brought:bring thought:think held:hold stolen:steal stole:steal ' +
    'froze:freeze frozen:freeze chose:choose chosen:choose went:go gone:go did:do done:do saw:see seen:see ' +
    'shut:shut hid:hide hidden:hide knew:know known:know forgot:forget forgotten:forget'
  )
    .split(' ')
    .map((pair) => pair.split(':').map(stem) as [string, string]),
);

/** Particles of phrasal verbs ("give ... back", "kick ... off"), looked up with their verb as one lemma. */
const particles = new Set(['back', 'up', 'off', 'out', 'down', 'in', 'on', 'over', 'away', 'through']);

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
