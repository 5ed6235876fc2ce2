/**
 * kcp-go's forward error correction layer, byte for byte: every datagram
 * starts with a 4-byte little-endian sequence id and a 2-byte type (0xf1 data,
 * 0xf2 parity). A data packet then holds a 2-byte size (itself included) and
 * the KCP bytes; after every `data` data packets come `parity` parity packets
 * whose bodies are Reed-Solomon shards over the group's size+KCP bytes,
 * zero-padded to the longest. Sequence ids run 0, 1, … and wrap at the largest
 * multiple of the group size below 2^32, so group n holds ids n·13 … n·13+12.
 */
import { ReedSolomon } from './reed-solomon.js';

export const FEC_HEADER_SIZE = 6;
/** header + the data packet's size field: the headroom a KCP datagram needs */
export const FEC_DATA_OVERHEAD = 8;
export const FEC_TYPE_DATA = 0xf1;
export const FEC_TYPE_PARITY = 0xf2;

export interface FecHeader {
  seq: number;
  type: typeof FEC_TYPE_DATA | typeof FEC_TYPE_PARITY;
}

/** The header of a datagram, or undefined when it is not a FEC packet we can use (too short, other type). */
export function readFecHeader(datagram: Buffer): FecHeader | undefined {
  if (datagram.length < FEC_DATA_OVERHEAD) return undefined;
  const type = datagram.readUInt16LE(4);
  if (type !== FEC_TYPE_DATA && type !== FEC_TYPE_PARITY) return undefined;
  if (type === FEC_TYPE_DATA && datagram.readUInt16LE(FEC_HEADER_SIZE) !== datagram.length - FEC_HEADER_SIZE) return undefined;
  return { seq: datagram.readUInt32LE(0), type };
}

function wrapOf(total: number): number {
  return Math.floor(0xffffffff / total) * total;
}

export class FecEncoder {
  private readonly rs: ReedSolomon;
  private readonly total: number;
  private readonly wrap: number;
  private next = 0;
  /** the size+KCP bytes of the data packets of the current group */
  private readonly group: Buffer[] = [];
  private lastDataAt: number | undefined;

  constructor(
    readonly dataShards: number,
    readonly parityShards: number,
    private readonly now: () => number,
  ) {
    this.rs = new ReedSolomon(dataShards, parityShards);
    this.total = dataShards + parityShards;
    this.wrap = wrapOf(this.total);
  }

  /**
   * `datagram` has FEC_DATA_OVERHEAD bytes of headroom before the KCP bytes;
   * the header is written into it. Returns the datagrams to send: it, then the
   * group's parity packets when it completes a group. As kcp-go, parity is
   * skipped for a group whose last two packets are `gapMs` or more apart
   * (sparse traffic: the ARQ resends sooner than parity would help); its
   * sequence ids are still used up (as newer kcp-go does; v5.6.13 does not),
   * so every group keeps its place and the peer's decoder stays aligned.
   */
  encode(datagram: Buffer, gapMs: number): Buffer[] {
    this.seal(datagram, FEC_TYPE_DATA);
    datagram.writeUInt16LE(datagram.length - FEC_HEADER_SIZE, FEC_HEADER_SIZE);
    this.group.push(datagram.subarray(FEC_HEADER_SIZE));
    const now = this.now();
    const continuous = this.lastDataAt !== undefined && now - this.lastDataAt < gapMs;
    this.lastDataAt = now;
    if (this.group.length < this.dataShards) return [datagram];

    const shards = this.group.splice(0);
    if (!continuous) {
      this.next = (this.next + this.parityShards) % this.wrap;
      return [datagram];
    }
    const longest = Math.max(...shards.map((s) => s.length));
    const padded = shards.map((s) => {
      if (s.length === longest) return s;
      const p = Buffer.alloc(longest);
      s.copy(p);
      return p;
    });
    const out = [datagram];
    for (const parity of this.rs.encode(padded)) {
      const packet = Buffer.allocUnsafe(FEC_HEADER_SIZE + longest);
      this.seal(packet, FEC_TYPE_PARITY);
      packet.set(parity, FEC_HEADER_SIZE);
      out.push(packet);
    }
    return out;
  }

  private seal(packet: Buffer, type: number): void {
    packet.writeUInt32LE(this.next, 0);
    packet.writeUInt16LE(type, 4);
    this.next = (this.next + 1) % this.wrap;
  }
}

interface ShardGroup {
  /** body (bytes after the 6-byte header) per position; null until it arrives */
  shards: (Buffer | null)[];
  present: number;
  dataPresent: number;
  /** every data shard arrived or was rebuilt: later packets of the group are ignored */
  done: boolean;
}

export interface FecDecodeResult {
  /** the KCP bytes carried by this datagram itself (data packets only) */
  payload?: Buffer;
  /** KCP bytes of data packets rebuilt from parity */
  recovered: Buffer[];
}

/**
 * Collects shards per group and rebuilds lost data packets once `data` of a
 * group's shards are in. Holds at most `maxGroups` groups (the oldest is
 * dropped), and ignores packets of groups older than that, so a burst of stale
 * or forged sequence ids costs a bounded amount of memory.
 */
export class FecDecoder {
  private readonly rs: ReedSolomon;
  private readonly total: number;
  private readonly groups = new Map<number, ShardGroup>();
  private newestBase: number | undefined;
  /** datagrams not usable for recovery (type does not match its position: a peer whose groups drifted) */
  misplaced = 0;
  recoveredCount = 0;

  constructor(
    readonly dataShards: number,
    readonly parityShards: number,
    private readonly maxGroups = 4,
  ) {
    this.rs = new ReedSolomon(dataShards, parityShards);
    this.total = dataShards + parityShards;
  }

  /** `datagram` must have passed readFecHeader. The buffers returned are the caller's. */
  decode(datagram: Buffer, header: FecHeader): FecDecodeResult {
    const result: FecDecodeResult = { recovered: [] };
    if (header.type === FEC_TYPE_DATA) result.payload = datagram.subarray(FEC_DATA_OVERHEAD);

    const position = header.seq % this.total;
    if (position < this.dataShards !== (header.type === FEC_TYPE_DATA)) {
      // kcp-go v5.6.13 does not use up the ids of skipped parity, so its groups
      // can drift; its data still arrives, only recovery is lost.
      this.misplaced++;
      return result;
    }
    const base = header.seq - position;
    if (this.newestBase === undefined || ((base - this.newestBase) | 0) > 0) this.newestBase = base;
    else if (((this.newestBase - base) | 0) >= this.maxGroups * this.total) return result;

    let group = this.groups.get(base);
    if (!group) {
      group = { shards: new Array<Buffer | null>(this.total).fill(null), present: 0, dataPresent: 0, done: false };
      this.groups.set(base, group);
      if (this.groups.size > this.maxGroups) {
        const oldest = this.groups.keys().next().value as number;
        this.groups.delete(oldest);
      }
    }
    if (group.done || group.shards[position]) return result;
    // Copied: the datagram buffer may be reused by the socket layer.
    group.shards[position] = Buffer.from(datagram.subarray(FEC_HEADER_SIZE));
    group.present++;
    if (header.type === FEC_TYPE_DATA) group.dataPresent++;

    if (group.dataPresent === this.dataShards) {
      this.finish(group);
    } else if (group.present >= this.dataShards) {
      result.recovered = this.rebuild(group);
      this.finish(group);
    }
    return result;
  }

  private finish(group: ShardGroup): void {
    group.done = true;
    group.shards.fill(null);
  }

  private rebuild(group: ShardGroup): Buffer[] {
    const longest = Math.max(...group.shards.map((s) => s?.length ?? 0));
    const shards: (Uint8Array | null)[] = group.shards.map((s) => {
      if (!s || s.length === longest) return s;
      const p = Buffer.alloc(longest);
      s.copy(p);
      return p;
    });
    const missing: number[] = [];
    for (let i = 0; i < this.dataShards; i++) if (!shards[i]) missing.push(i);
    if (!this.rs.reconstructData(shards)) return [];
    const out: Buffer[] = [];
    for (const i of missing) {
      const shard = shards[i] as Uint8Array;
      const body = Buffer.from(shard.buffer, shard.byteOffset, shard.length);
      const size = body.length >= 2 ? body.readUInt16LE(0) : 0;
      // A size that does not fit means forged or mismatched parity: drop it.
      if (size < 2 || size > body.length) continue;
      out.push(body.subarray(2, size));
      this.recoveredCount++;
    }
    return out;
  }
}
