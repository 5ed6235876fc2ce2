/**
 * Userland buffer per relayed socket. Node's default (16 KiB) makes every 64 KiB
 * read overflow the writer, so each hop pauses and resumes once per chunk;
 * a few chunks of slack keeps data moving between event-loop turns. Memory per
 * connection grows only while a peer is slower than its sender.
 */
export const RELAY_HIGH_WATER_MARK = 256 * 1024;

/**
 * Adds the relay buffer size to socket connect options. Node passes them on to
 * the stream; its type definitions do not list them, hence this one place.
 */
export function withRelayBuffers<T extends object>(opts: T): T {
  return { ...opts, readableHighWaterMark: RELAY_HIGH_WATER_MARK, writableHighWaterMark: RELAY_HIGH_WATER_MARK };
}
