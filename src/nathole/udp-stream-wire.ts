import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

/**
 * The datagrams of burrow's xtcp stream (src/nathole/udp-stream.ts):
 *
 *   'BRU1' | counter u64 | AES-256-GCM(header | payload) | tag (16)
 *   header: kind u8, seq u32, ack u32, got u32, sack u32, window u16
 *
 * The key is HKDF-SHA256 of the proxy's secret key with the hole-punching
 * sid as salt, so every tunnel has its own; the 12-byte nonce is the
 * sender's direction byte and its packet counter, so no nonce repeats. A
 * datagram that fails authentication is simply not ours.
 */

const MAGIC = Buffer.from('BRU1');
const COUNTER_AT = 4;
export const WIRE_HEADER = 19;
const TAG = 16;
/** bytes a datagram adds to its payload */
export const WIRE_OVERHEAD = MAGIC.length + 8 + WIRE_HEADER + TAG;

export enum Kind {
  Syn = 1,
  SynAck = 2,
  Data = 3,
  Ack = 4,
  Fin = 5,
  Rst = 6,
  Ping = 7,
}

export interface Packet {
  kind: Kind;
  seq: number;
  /** next sequence number the sender expects */
  ack: number;
  /** the segment whose arrival this packet answers */
  got: number;
  /** bit i: segment ack+1+i has arrived */
  sack: number;
  /** free segments in the sender's receive window */
  wnd: number;
  payload: Buffer;
}

/** `a` comes after `b` in 32-bit sequence space, which wraps */
export const seqAfter = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqPlus = (a: number, n: number): number => (a + n) >>> 0;

export class StreamSealer {
  private readonly key: Buffer;
  private counter = 0n;

  /** `initiator` picks the direction byte: the two sides never share a nonce. */
  constructor(
    secretKey: string,
    sid: string,
    private readonly initiator: boolean,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, sid, 'burrow xtcp udp stream v1', 32));
  }

  seal(p: Omit<Packet, 'payload'>, payload?: Buffer): Buffer {
    const header = Buffer.allocUnsafe(WIRE_HEADER);
    header[0] = p.kind;
    header.writeUInt32BE(p.seq >>> 0, 1);
    header.writeUInt32BE(p.ack >>> 0, 5);
    header.writeUInt32BE(p.got >>> 0, 9);
    header.writeUInt32BE(p.sack >>> 0, 13);
    header.writeUInt16BE(p.wnd, 17);
    const nonce = Buffer.alloc(12);
    nonce[0] = this.initiator ? 0 : 1;
    nonce.writeBigUInt64BE(this.counter++, COUNTER_AT);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(MAGIC);
    const body = cipher.update(payload ? Buffer.concat([header, payload]) : header);
    cipher.final();
    return Buffer.concat([MAGIC, nonce.subarray(COUNTER_AT), body, cipher.getAuthTag()]);
  }

  /** The packet, or undefined for anything forged, corrupted or not ours. */
  open(msg: Buffer): Packet | undefined {
    if (msg.length < WIRE_OVERHEAD || !msg.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const nonce = Buffer.alloc(12);
    nonce[0] = this.initiator ? 1 : 0;
    msg.copy(nonce, COUNTER_AT, MAGIC.length, MAGIC.length + 8);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, nonce);
      decipher.setAAD(MAGIC);
      decipher.setAuthTag(msg.subarray(msg.length - TAG));
      const plain = Buffer.concat([decipher.update(msg.subarray(MAGIC.length + 8, msg.length - TAG)), decipher.final()]);
      return {
        kind: plain[0] as Kind,
        seq: plain.readUInt32BE(1),
        ack: plain.readUInt32BE(5),
        got: plain.readUInt32BE(9),
        sack: plain.readUInt32BE(13),
        wnd: plain.readUInt16BE(17),
        payload: plain.subarray(WIRE_HEADER),
      };
    } catch {
      return undefined;
    }
  }
}
