import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindCatalog, loadCatalog } from '../catalog/index.ts';
import type { Catalog, NamedTool, Tool } from '../core/index.ts';
import { openWordVectors } from './_word-vectors.ts';
import { openWordNet } from './_wordnet.ts';
import { createToolSearchIndex, searchToolIndexes } from './create-tool-search-index.ts';

function toolOf(
  key: string,
  title: string,
  method: Tool['request']['method'],
  path: string,
  extra: Partial<Tool> = {},
): Tool {
  return {
    key,
    operation: key,
    title,
    description: title,
    inputSchema: { type: 'object', properties: {} },
    annotations: {
      readOnlyHint: method === 'GET',
      destructiveHint: method === 'DELETE',
      idempotentHint: true,
      openWorldHint: true,
    },
    safety: method === 'GET' ? 'safe' : method === 'DELETE' ? 'destructive' : 'write',
    scopes: [],
    tags: [],
    request: { method, pathTemplate: path, parameters: [] },
    ...extra,
  };
}

function catalogOf(id: string, tools: Tool[]): Catalog {
  return { id, title: id, baseUrl: undefined, problems: [], tools };
}

const small = catalogOf('test', [
  toolOf('listPets', 'List pets', 'GET', '/pets'),
  toolOf('createPet', 'Create a pet', 'POST', '/pets'),
  toolOf('deletePet', 'Delete a pet', 'DELETE', '/pets/{id}'),
  toolOf('listOwners', 'List owners', 'GET', '/owners'),
]);

describe('searchToolIndexes()', () => {
  it('ranks by words and intent, and applies the allowed, access and service filters', () => {
    const index = createToolSearchIndex(bindCatalog(small, 'pets'));
    expect(createToolSearchIndex(bindCatalog(small, 'pets'))).toBe(index);
    const top = (query: Parameters<typeof searchToolIndexes>[1]) =>
      searchToolIndexes([index], query).map((hit: { tool: NamedTool }) => hit.tool.name);
    expect(top({ query: 'remove a pet', limit: 1 })).toEqual(['pets_deletePet']);
    expect(top({ query: 'add a new pet', limit: 1 })).toEqual(['pets_createPet']);
    expect(top({ query: 'remove a pet', access: 'read', limit: 5 })).not.toContain('pets_deletePet');
    expect(top({ query: 'pets', allowed: (name) => name !== 'pets_listPets', limit: 5 })).not.toContain(
      'pets_listPets',
    );
    expect(top({ query: 'pets', service: 'other', limit: 5 })).toEqual([]);
  });
});

const shop = catalogOf('shop', [
  toolOf('PostRefunds', 'Create a refund', 'POST', '/v1/refunds'),
  toolOf('GetOrders', 'List orders', 'GET', '/v1/orders'),
  toolOf('GetAccount', 'Retrieve account', 'GET', '/v1/account', {
    outputSchema: { type: 'object', properties: { balance: { type: 'integer' } } },
  }),
  toolOf('DeleteMember', 'Remove', 'DELETE', '/v1/boards/{board}/members/{member}'),
  toolOf('PostSnooze', 'Snooze', 'POST', '/v1/dnd', { tags: ['notifications'] }),
]);

describe('searchToolIndexes() bridges words and says why', () => {
  const index = createToolSearchIndex(bindCatalog(shop, 'shop'));
  const search = (query: string) => searchToolIndexes([index], { query, limit: 3 });

  it('reaches a tool through WordNet (a phrasal verb and a gloss) and names the relation', () => {
    const [hit] = search('give the customer her money back');
    expect(hit?.tool.name).toBe('shop_PostRefunds');
    expect(hit?.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ word: 'give back', term: 'refunds', via: 'synonym', lemma: 'refund' }),
      ]),
    );
    expect(hit?.reasons[0]?.fields).toEqual(expect.arrayContaining(['name', 'title', 'path']));
  });

  it('matches path segments, tags and response fields, and corrects one-letter typos', () => {
    expect(search('kick someone off the board')[0]?.tool.name).toBe('shop_DeleteMember');
    expect(search('kick someone off the board')[0]?.reasons).toEqual(
      expect.arrayContaining([expect.objectContaining({ word: 'board', fields: ['path'] })]),
    );
    expect(search('pause my notifications')[0]?.tool.name).toBe('shop_PostSnooze');
    const [balance] = search('what is my balance');
    expect(balance?.tool.name).toBe('shop_GetAccount');
    expect(balance?.reasons).toEqual(
      expect.arrayContaining([expect.objectContaining({ word: 'balanc', fields: ['response'] })]),
    );
    const [typo] = search('list ordres');
    expect(typo?.tool.name).toBe('shop_GetOrders');
    expect(typo?.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ via: 'typo', term: 'orders' })]));
  });

  it('knows mail APIs call an email a message and a folder a label (API vocabulary)', () => {
    const mail = createToolSearchIndex(
      bindCatalog(
        catalogOf('mail', [
          toolOf(
            'messagesSend',
            'Sends the specified message to the recipients',
            'POST',
            '/users/{userId}/messages/send',
          ),
          toolOf('labelsList', 'Lists all labels in the mailbox', 'GET', '/users/{userId}/labels'),
          toolOf('draftsCreate', 'Creates a new draft', 'POST', '/users/{userId}/drafts'),
          toolOf('filtersList', 'Lists the filters', 'GET', '/users/{userId}/settings/filters'),
        ]),
        'mail',
      ),
    );
    const [email] = searchToolIndexes([mail], { query: 'email Bob the slides', limit: 1 });
    expect(email?.tool.name).toBe('mail_messagesSend');
    expect(email?.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ word: 'email', via: 'domain' })]));
    const [folders] = searchToolIndexes([mail], { query: 'which folders do I have', limit: 1 });
    expect(folders?.tool.name).toBe('mail_labelsList');
  });

  it('answers queries in other scripts and nonsense with the best it has, never an error', () => {
    expect(() => search('返金してください')).not.toThrow();
    expect(search('zzzz qqqq')).toEqual([]);
  });
});

describe('searchToolIndexes() with word vectors', () => {
  const media = catalogOf('media', [
    toolOf('getTrack', 'Get a track', 'GET', '/tracks/{id}'),
    toolOf('getAlbum', 'Get an album', 'GET', '/albums/{id}'),
    toolOf('getInvoice', 'Get an invoice', 'GET', '/invoices/{id}'),
    toolOf('setVolume', 'Set volume', 'PUT', '/player/volume'),
  ]);
  const index = createToolSearchIndex(bindCatalog(media, 'media'));

  it('reaches a tool through a word no catalogue word, vocabulary list or WordNet relation links, and says how close', () => {
    // "ballad" -> album: close in the word vectors (GloVe), in no vocabulary group and no WordNet relation here.
    const [hit] = searchToolIndexes([index], { query: 'that ballad', limit: 2 });
    expect(hit?.tool.name).toBe('media_getAlbum');
    const reason = hit?.reasons.find(({ via }) => via === 'meaning');
    expect(reason).toMatchObject({ word: 'ballad', term: 'album', via: 'meaning' });
    expect(reason?.fields).toEqual(expect.arrayContaining(['name', 'title']));
    expect(reason?.similarity).toBeGreaterThan(0.5);
    expect(reason?.similarity).toBeLessThanOrEqual(1);
  });

  it('keeps one vector set per process and knows common words but not nonsense', () => {
    const vectors = openWordVectors();
    expect(vectors).toBeDefined();
    expect(openWordVectors()).toBe(vectors);
    const cosine = (a: string, b: string) => {
      const [x, y] = [vectors?.vectorOf(a), vectors?.vectorOf(b)];
      return x === undefined || y === undefined ? Number.NaN : x.reduce((sum, v, i) => sum + v * (y[i] as number), 0);
    };
    expect(cosine('song', 'track')).toBeGreaterThan(cosine('song', 'invoice'));
    expect(cosine('song', 'song')).toBeCloseTo(1, 5);
    expect(vectors?.vectorOf('qqqzzz')).toBeUndefined();
    expect(vectors?.weightOf('the')).toBeLessThan(0.1);
    expect(vectors?.weightOf('refund')).toBeGreaterThan(0.9);
  });

  it('fails with the file named when the file is not a word vectors file, and is absent without error', () => {
    const notVectors = resolve(import.meta.dirname, 'create-tool-search-index.test.ts');
    expect(() => openWordVectors(notVectors)).toThrow(/create-tool-search-index\.test\.ts: not a word vectors file/);
    expect(openWordVectors(resolve(import.meta.dirname, 'no-such-file.bin'))).toBeUndefined();
  });
});

describe('openWordNet()', () => {
  it('finds lemmas by WordNet detachment rules and relates words through synsets', () => {
    const wordNet = openWordNet();
    expect(wordNet).toBeDefined();
    expect(wordNet?.lemmasOf('kicked')).toContain('kick');
    expect(wordNet?.lemmasOf('boards')).toContain('board');
    expect(wordNet?.lemmasOf('qqqq')).toEqual([]);
    const related = wordNet?.relatedTo('refund', 3) ?? [];
    expect(related).toEqual(
      expect.arrayContaining([
        { lemma: 'give back', relation: 'synonym' },
        { lemma: 'payment', relation: 'broader' },
        { lemma: 'money', relation: 'gloss' },
      ]),
    );
  });
});

const specs = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'specs');
const github = resolve(specs, 'github.api.github.com.json');
const stripe = resolve(specs, 'stripe.spec3.2023-09-12.yaml');

describe.skipIf(!existsSync(github) || !existsSync(stripe))('S6 labelled queries (subset)', () => {
  it('finds the tool a person would pick within the first five for most labelled queries', () => {
    const indexes = [
      createToolSearchIndex(bindCatalog(loadCatalog(github), 'github')),
      createToolSearchIndex(bindCatalog(loadCatalog(stripe), 'stripe')),
    ];
    const file = resolve(import.meta.dirname, '..', '..', 'bench', 'fixtures', 'tool-search-queries.json');
    const { queries } = JSON.parse(readFileSync(file, 'utf8')) as { queries: { query: string; expected: string[] }[] };
    const subset = queries.filter((_, i) => i % 3 === 0);
    const hits = subset.filter(({ query, expected }) =>
      searchToolIndexes(indexes, { query, limit: 5 }).some((hit) => expected.includes(hit.tool.name)),
    );
    expect(hits.length / subset.length).toBeGreaterThanOrEqual(0.85);
  }, 30_000);
});
