import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { GatehouseError, isPlainObject } from '../../core/index.ts';
import type { ProcessBus } from '../shared-state-port.ts';

/** What travels on a process's channel: a request, its acknowledgement, its reply, or a refusal to reply. */
type Envelope =
  | { t: 'req'; id: string; from: string; max: number; body: string }
  | { t: 'ack'; id: string }
  | { t: 'rep'; id: string; body: string }
  | { t: 'err'; id: string; reason: 'too_large' | 'failed' };

/** How often a requester checks that the process it waits on still listens. */
const livenessCheckMs = 1_000;

/**
 * The process bus on Redis pub/sub: each process subscribes to `gh:bus:<db>:<address>` on a connection of its own (a
 * subscribed connection runs no other command); requests, acknowledgements and replies are published on the
 * receiver's channel over the shared connection. `PUBLISH` counting no subscriber means the process is gone (its
 * connection closed when it died); while a reply is awaited, `PUBSUB NUMSUB` tells the same every second. Pub/sub
 * keeps nothing: a message to a process that is not listening at that moment is lost, and the requester says so.
 */
export async function createRedisProcessBus(
  redis: Redis,
  options: { readonly prefix?: string } = {},
): Promise<ProcessBus> {
  const prefix = options.prefix ?? 'gh:';
  const address = randomBytes(12).toString('base64url');
  // Pub/sub channels span every database of a Redis server: the database number keeps deployments apart.
  const channelOf = (to: string) => `${prefix}bus:${redis.options.db ?? 0}:${to}`;
  const subscriber = redis.duplicate();
  subscriber.on('error', () => {});
  if (subscriber.status !== 'ready') await subscriber.connect();
  await subscriber.subscribe(channelOf(address));

  let handler: ((body: string) => Promise<string>) | undefined;
  const waiting = new Map<string, { acked(): void; settle(envelope: Envelope): void }>();
  const publish = (to: string, envelope: Envelope) => redis.publish(channelOf(to), JSON.stringify(envelope));

  async function serveRequest(request: Extract<Envelope, { t: 'req' }>): Promise<void> {
    await publish(request.from, { t: 'ack', id: request.id });
    let reply: Envelope;
    try {
      const body = await (handler === undefined ? Promise.reject(new Error('no handler')) : handler(request.body));
      reply =
        Buffer.byteLength(body) > request.max
          ? { t: 'err', id: request.id, reason: 'too_large' }
          : { t: 'rep', id: request.id, body };
    } catch {
      reply = { t: 'err', id: request.id, reason: 'failed' };
    }
    await publish(request.from, reply);
  }

  subscriber.on('message', (_channel: string, text: string) => {
    const envelope = parseEnvelope(text);
    if (envelope === undefined) return;
    if (envelope.t === 'req') {
      serveRequest(envelope).catch(() => {});
      return;
    }
    const pending = waiting.get(envelope.id);
    if (envelope.t === 'ack') pending?.acked();
    else pending?.settle(envelope);
  });

  return {
    address,
    serve(next) {
      handler = next;
    },
    async request(to, body, limits) {
      if (Buffer.byteLength(body) > limits.maxBytes) {
        throw new GatehouseError('payload_too_large', `The message is over ${limits.maxBytes} bytes`, {
          limit: limits.maxBytes,
        });
      }
      const id = randomBytes(12).toString('base64url');
      const unavailable = (reason: 'process_gone' | 'process_silent', message: string) =>
        new GatehouseError('store_unavailable', message, { reason });
      return new Promise<string>((resolve, reject) => {
        let ackTimer: NodeJS.Timeout | undefined;
        let replyTimer: NodeJS.Timeout | undefined;
        let liveness: NodeJS.Timeout | undefined;
        const end = (outcome: () => void) => {
          if (!waiting.has(id)) return;
          waiting.delete(id);
          clearTimeout(ackTimer);
          clearTimeout(replyTimer);
          clearInterval(liveness);
          outcome();
        };
        const fail = (error: GatehouseError) => end(() => reject(error));
        waiting.set(id, {
          acked() {
            clearTimeout(ackTimer);
            liveness ??= setInterval(() => {
              redis
                .call('PUBSUB', 'NUMSUB', channelOf(to))
                .then((answer) => {
                  if (Array.isArray(answer) && Number(answer[1]) === 0) {
                    fail(
                      unavailable('process_gone', 'The gateway process holding the call stopped before it answered'),
                    );
                  }
                })
                .catch(() => {});
            }, livenessCheckMs);
          },
          settle(envelope) {
            if (envelope.t === 'rep') end(() => resolve(envelope.body));
            else if (envelope.t === 'err' && envelope.reason === 'too_large') {
              fail(
                new GatehouseError('payload_too_large', `The reply is over ${limits.maxBytes} bytes`, {
                  limit: limits.maxBytes,
                }),
              );
            } else fail(unavailable('process_silent', 'The gateway process holding the call failed to answer'));
          },
        });
        ackTimer = setTimeout(
          () => fail(unavailable('process_silent', 'The gateway process holding the call did not acknowledge')),
          limits.ackTimeoutMs,
        );
        replyTimer = setTimeout(
          () => fail(unavailable('process_silent', 'The gateway process holding the call did not answer in time')),
          limits.replyTimeoutMs,
        );
        publish(to, { t: 'req', id, from: address, max: limits.maxBytes, body }).then(
          (receivers) => {
            if (receivers === 0) fail(unavailable('process_gone', 'The gateway process holding the call is gone'));
          },
          () => fail(new GatehouseError('store_unavailable', 'Redis is unavailable', { reason: 'redis' })),
        );
      });
    },
    async close() {
      for (const pending of waiting.values()) pending.settle({ t: 'err', id: '', reason: 'failed' });
      subscriber.disconnect();
    },
  };
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (!isPlainObject(value) || typeof value['id'] !== 'string') return undefined;
    if (value['t'] === 'req') {
      return typeof value['from'] === 'string' && typeof value['max'] === 'number' && typeof value['body'] === 'string'
        ? (value as Envelope)
        : undefined;
    }
    if (value['t'] === 'rep') return typeof value['body'] === 'string' ? (value as Envelope) : undefined;
    return value['t'] === 'ack' || value['t'] === 'err' ? (value as Envelope) : undefined;
  } catch {
    return undefined;
  }
}
