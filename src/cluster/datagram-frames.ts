import { BurrowError } from '../util/errors.js';

/**
 * Datagrams on a `udp` link (docs/cluster.md): each one a 4-byte big-endian
 * length and the payload. One link carries one user address of one port, so
 * a frame needs nothing else. A length above MAX_LINK_DATAGRAM is not a
 * datagram: the reader throws and the link (that one user's flow) closes.
 */
export const MAX_LINK_DATAGRAM = 65_535;

const HEADER = 4;

export function datagramFrame(payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32BE(payload.length);
  return Buffer.concat([head, payload]);
}

/**
 * Cuts a link's bytes back into datagrams, whatever the chunking: holds at
 * most one frame's bytes, and checks a frame's length before keeping any of
 * its payload.
 */
export class DatagramReader {
  private buf: Buffer = Buffer.alloc(0);

  /** The whole datagrams `chunk` completes, in order; throws BURROW_BAD_FRAME on a length that no datagram has. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_LINK_DATAGRAM) throw new BurrowError('BURROW_BAD_FRAME', `link datagram of ${len} bytes (at most ${MAX_LINK_DATAGRAM})`);
      if (this.buf.length < HEADER + len) break;
      // A copy: the datagram outlives the chunk it came in (it may be queued).
      out.push(Buffer.from(this.buf.subarray(HEADER, HEADER + len)));
      this.buf = this.buf.subarray(HEADER + len);
    }
    return out;
  }
}
