import { createHash } from 'node:crypto';
import { type Clock, createId, GatehouseError } from '../core/index.ts';
import {
  createQueryEvaluator,
  type QueryAnswer,
  type QueryEvaluator,
  type QueryLimits,
} from './create-query-evaluator.ts';
import type { ResultStore, StoredResult } from './result-store.ts';

/** Who may read a handle: exactly the tenant, subject and client key whose call produced it (MC-05). */
export interface ResultOwner {
  readonly tenant: string;
  readonly subject: string;
  readonly clientKey: string;
}

/** A stored result as navigation reads it. `value` is the parsed JSON (`kind: 'json'` only). */
export interface LoadedResult {
  readonly id: string;
  readonly kind: 'json' | 'text';
  readonly text: string;
  readonly value: unknown;
  readonly expiresAt: number;
}

export interface ResultHandles {
  /**
   * Stores a result for its owner and returns the new handle id (`rh_` + 128 random bits) and expiry time.
   * `value` is the already-parsed JSON of `text`, if the caller has it (kept in a small per-process cache so
   * that the next query does not parse 1 MB again). `ttlMs` overrides the default lifetime.
   */
  create(
    owner: ResultOwner,
    result: { readonly kind: 'json' | 'text'; readonly text: string; readonly value?: unknown },
    ttlMs?: number,
  ): Promise<{ readonly id: string; readonly expiresAt: number }>;
  /** The result behind a handle; `not_found` when it does not exist, expired, or belongs to another owner. */
  load(owner: ResultOwner, id: string): Promise<LoadedResult>;
  /**
   * Evaluates a JMESPath expression over the JSON result behind a handle, within the query budget (RS-02), off
   * the event loop: `not_found` as `load`, `invalid_arguments` for a text result or a bad expression, and the
   * errors of `QueryEvaluator.evaluate` (`query_budget_exceeded`, `rate_limited`).
   */
  query(
    owner: ResultOwner,
    id: string,
    expression: string,
    page?: { readonly offset: number; readonly limit: number },
  ): Promise<QueryAnswer>;
  /**
   * Evaluates a configured projection (a tool overlay's JMESPath) over one JSON result, within the same query
   * budget and workers as `query`, counted against `tenant`: the result is the upstream's (untrusted size), so it
   * is never evaluated on the event loop. Errors as `QueryEvaluator.evaluate`.
   */
  project(tenant: string, text: string, expression: string): Promise<unknown>;
  /** Stops the query workers. */
  close(): Promise<void>;
}

export interface ResultHandlesOptions {
  readonly store: ResultStore;
  readonly clock: Clock;
  /** Lifetime of a handle (default 15 minutes). */
  readonly ttlMs?: number;
  /** Budget of queries and page paths (`resultHandles.query` of the config; its defaults when absent). */
  readonly query?: QueryLimits;
  /** Priority of the query workers (`QueryEvaluatorOptions.workerNice`; the lowest when absent). */
  readonly queryWorkerNice?: number;
}

const parsedCacheSize = 4;
const handlePattern = /^rh_[A-Za-z0-9_-]{22}$/;

/**
 * Handles for results too large for a model's context. The store key is a hash of owner and id, so a handle
 * presented by another tenant, subject or client key looks up a key that does not exist: it is invisible, not
 * forbidden. The owner stored with the result is compared again on read.
 */
export function createResultHandles(options: ResultHandlesOptions): ResultHandles {
  const { store, clock } = options;
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const parsed = new Map<string, unknown>();
  let evaluator: QueryEvaluator | undefined;
  const workerOptions = options.queryWorkerNice === undefined ? {} : { workerNice: options.queryWorkerNice };

  function remember(key: string, value: unknown): void {
    parsed.delete(key);
    parsed.set(key, value);
    if (parsed.size > parsedCacheSize) parsed.delete(parsed.keys().next().value as string);
  }

  async function read(owner: ResultOwner, id: string): Promise<{ key: string; stored: StoredResult }> {
    const notFound = new GatehouseError('not_found', 'No such result handle (it may have expired)', {
      handle: typeof id === 'string' ? id.slice(0, 40) : '',
    });
    if (typeof id !== 'string' || !handlePattern.test(id)) throw notFound;
    const ownerKey = toOwnerKey(owner);
    const key = toStoreKey(ownerKey, id);
    const stored = await store.get(key);
    if (stored === undefined || stored.owner !== ownerKey || stored.expiresAt <= clock.now()) {
      parsed.delete(key);
      throw notFound;
    }
    return { key, stored };
  }

  return {
    async create(owner, result, lifetimeMs) {
      const id = `rh_${createId(16)}`;
      const expiresAt = clock.now() + (lifetimeMs ?? ttlMs);
      const ownerKey = toOwnerKey(owner);
      const key = toStoreKey(ownerKey, id);
      await store.put(
        key,
        { owner: ownerKey, kind: result.kind, text: result.text, expiresAt },
        { tenant: owner.tenant, subject: owner.subject },
      );
      if (result.kind === 'json' && result.value !== undefined) remember(key, result.value);
      return { id, expiresAt };
    },
    async load(owner, id) {
      const { key, stored } = await read(owner, id);
      return {
        id,
        kind: stored.kind,
        text: stored.text,
        expiresAt: stored.expiresAt,
        // Parsed only when read: paging text does not need it, and parsing 10 MB holds up the event loop.
        get value() {
          if (stored.kind !== 'json') return undefined;
          let value = parsed.get(key);
          if (value === undefined) {
            value = JSON.parse(stored.text) as unknown;
            remember(key, value);
          }
          return value;
        },
      };
    },
    async query(owner, id, expression, page) {
      const { key, stored } = await read(owner, id);
      if (stored.kind !== 'json') {
        throw page === undefined
          ? new GatehouseError('invalid_arguments', 'This result is text, not JSON; use gatehouse_result_page', {
              handle: id,
            })
          : new GatehouseError('invalid_arguments', 'This result is text; page it without a path', {
              argument: 'path',
            });
      }
      evaluator ??= createQueryEvaluator(options.query, workerOptions);
      return evaluator.evaluate({
        tenant: owner.tenant,
        key,
        text: stored.text,
        expression,
        ...(page === undefined ? {} : { page }),
      });
    },
    async project(tenant, text, expression) {
      evaluator ??= createQueryEvaluator(options.query, workerOptions);
      const key = `projection:${createHash('sha256').update(text).digest('hex')}`;
      const answer = await evaluator.evaluate({ tenant, key, text, expression });
      return answer.kind === 'value' ? answer.value : null;
    },
    async close() {
      await evaluator?.close();
      evaluator = undefined;
    },
  };
}

function toOwnerKey(owner: ResultOwner): string {
  return JSON.stringify([owner.tenant, owner.subject, owner.clientKey]);
}

function toStoreKey(ownerKey: string, id: string): string {
  return createHash('sha256').update(ownerKey).update('\0').update(id).digest('base64url');
}
