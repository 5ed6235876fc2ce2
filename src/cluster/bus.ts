import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { RedisLink } from './redis-link.js';

/** The one pub/sub channel of the nodes. */
const CHANNEL = 'burrow:events';
/** A message larger than this is not one of ours. */
const MAX_MESSAGE_BYTES = 64 * 1024;

/** What one node tells the others at once. */
export type BusMessage =
  /** `[[users]]` was reloaded on node `from`: these names' sessions end everywhere, and nodes that can re-read their own users do */
  { kind: 'users-reloaded'; from: string; revoked: string[] };

/**
 * Messages between the nodes of a cluster over Redis pub/sub, on a second
 * connection (a subscribed connection runs nothing else). Delivery is at
 * most once: a node cut off from Redis when a message goes out never sees
 * it (docs/cluster.md says what that means for revocations). Events:
 * 'message' (BusMessage) for messages of other nodes only; 'rejoined' when
 * listening again after the connection was lost (messages may have been missed).
 */
export class ClusterBus extends EventEmitter {
  private sub: Redis | undefined;
  private closed = false;
  /** subscribed now: messages published from here on reach this node */
  listening = false;
  private everListened = false;

  constructor(
    private readonly redis: RedisLink,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    super();
  }

  start(): void {
    const sub = this.redis.subscriber();
    if (!sub || this.closed) return;
    this.sub = sub;
    sub.on('error', () => {});
    // Subscribed again on each (re)connection: the first connect may fail while Redis is away.
    sub.on('ready', () => {
      sub.subscribe(CHANNEL).then(
        () => {
          if (this.listening) return;
          this.listening = true;
          this.log.info("cluster: listening to the other nodes' events", { channel: CHANNEL });
          // Back after a loss: what was published meanwhile never arrives, so the owner catches up its own way.
          if (this.everListened) this.emit('rejoined');
          this.everListened = true;
        },
        () => {},
      );
    });
    sub.on('close', () => (this.listening = false));
    sub.on('message', (_channel: string, text: string) => this.receive(text));
    sub.connect().catch((err: unknown) => this.log.debug('cluster: event channel not connected yet', { reason: describeError(err) }));
  }

  /** Tells the other nodes; throws BURROW_CLUSTER_UNAVAILABLE when Redis is away. */
  async publish(msg: Omit<BusMessage, 'from'>): Promise<void> {
    const text = JSON.stringify({ ...msg, from: this.node });
    await this.redis.run((r) => r.publish(CHANNEL, text));
  }

  private receive(text: string): void {
    if (text.length > MAX_MESSAGE_BYTES) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    const m = msg as Partial<BusMessage> | null;
    if (!m || typeof m.from !== 'string' || m.from === this.node) return;
    if (m.kind === 'users-reloaded' && Array.isArray(m.revoked) && m.revoked.every((n) => typeof n === 'string')) {
      this.emit('message', { kind: m.kind, from: m.from, revoked: m.revoked } satisfies BusMessage);
    }
  }

  close(): void {
    this.closed = true;
    this.sub?.disconnect(false);
    this.sub = undefined;
  }
}
