import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { parseRedisTarget } from '../config/redis-url.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export enum RedisState {
  Idle = 'idle',
  /** connecting, or reconnecting after a loss: commands are refused, not queued */
  Down = 'down',
  Up = 'up',
  Closed = 'closed',
}

/** A command that gets no answer in this time counts as Redis being unreachable. */
const COMMAND_TIMEOUT_MS = 2000;
/** Reconnect attempts back off to this (ioredis retries for ever). */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * The one connection of a node to Redis, and whether it is usable. Commands
 * are never queued while Redis is away (ioredis's offline queue is off): a
 * registration that needs a cluster-wide check is refused at once with
 * BURROW_CLUSTER_UNAVAILABLE instead of hanging, and what the node already
 * holds keeps serving. ioredis is loaded only when a cluster is configured, so
 * a single server never touches it. Events: 'up', 'down'.
 */
export class RedisLink extends EventEmitter {
  state = RedisState.Idle;
  private redis: Redis | undefined;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Starts connecting; resolves once the first attempt settled (up or not: a node starts without Redis and catches up). */
  async start(): Promise<void> {
    if (this.state !== RedisState.Idle) return;
    this.state = RedisState.Down;
    const { Redis } = await import('ioredis');
    const backoff = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), MAX_RECONNECT_DELAY_MS);
    const options = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: backoff,
    };
    const target = parseRedisTarget(this.url);
    // Through Sentinel, ioredis asks the Sentinels for the primary at each (re)connection, so a failover is one more reconnect.
    const redis =
      target.kind === 'url'
        ? new Redis(target.url, options)
        : new Redis({
            ...options,
            sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
            name: target.name,
            ...(target.username ? { username: target.username } : {}),
            ...(target.password ? { password: target.password } : {}),
            db: target.db,
            sentinelRetryStrategy: backoff,
            sentinelCommandTimeout: COMMAND_TIMEOUT_MS,
          });
    this.redis = redis;
    redis.on('ready', () => this.setState(RedisState.Up));
    redis.on('close', () => this.setState(RedisState.Down));
    // Logged once per loss by setState; ioredis repeats the error at each retry.
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (err) {
      this.log.warn('cluster: Redis is unreachable; retrying in the background', { reason: describeError(err) });
    }
  }

  private setState(next: RedisState): void {
    if (this.state === RedisState.Closed || this.state === next) return;
    this.state = next;
    if (next === RedisState.Up) this.log.info('cluster: Redis is reachable');
    else this.log.warn('cluster: Redis connection lost: registrations that need the cluster are refused until it returns');
    this.emit(next);
  }

  /** Runs `fn` against Redis; throws BURROW_CLUSTER_UNAVAILABLE when Redis is not up or the command fails on the way. */
  async run<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = this.redis;
    if (!redis || this.state !== RedisState.Up) throw unavailable('not connected');
    try {
      return await fn(redis);
    } catch (err) {
      throw unavailable(describeError(err));
    }
  }

  /** A second connection with the same settings, not yet connected, for SUBSCRIBE (a subscribed connection runs nothing else); undefined before start. */
  subscriber(): Redis | undefined {
    return this.redis?.duplicate();
  }

  /** Closes the connection at once, without a QUIT (also what a node's abrupt death looks like to Redis). */
  close(): void {
    if (this.state === RedisState.Closed) return;
    this.state = RedisState.Closed;
    this.redis?.disconnect(false);
  }
}

export function unavailable(reason: string): BurrowError {
  return new BurrowError('BURROW_CLUSTER_UNAVAILABLE', `the cluster state (Redis) is unreachable (${reason}); try again when it is back`);
}
