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

/**
 * Kernel receive buffer asked for on the UDP sockets that take datagrams in
 * (a udp proxy's public socket, a sudp visitor's socket, the client's
 * per-visitor sockets). The default (about 208 KiB on Linux) overflows
 * during a short pause of the event loop at tens of thousands of datagrams
 * per second; the kernel caps the request at net.core.rmem_max.
 */
export const UDP_RECV_BUFFER = 4 * 1024 * 1024;
/** The same for each of the client's per-visitor sockets, of which there may be many. */
export const UDP_FLOW_RECV_BUFFER = 256 * 1024;
