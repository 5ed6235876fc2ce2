/**
 * KCP's wire format: the 24-byte little-endian segment header (conv 4, cmd 1,
 * frg 1, wnd 2, ts 4, sn 4, una 4, len 4) and the packing of several
 * segments into one datagram of at most the MTU. Pure.
 */

export const KCP_OVERHEAD = 24;
export const KcpCmd = { Push: 81, Ack: 82, WindowAsk: 83, WindowTell: 84 } as const;

export interface SegmentHeader {
  conv: number;
  cmd: number;
  frg: number;
  wnd: number;
  ts: number;
  sn: number;
  una: number;
  len: number;
}

/** Signed distance later - earlier between two 32-bit counters (sequence numbers, millisecond clocks). */
export function diff(later: number, earlier: number): number {
  return (later - earlier) | 0;
}

/** `data` must hold KCP_OVERHEAD bytes from `offset`. */
export function readSegmentHeader(data: Buffer, offset: number): SegmentHeader {
  return {
    conv: data.readUInt32LE(offset),
    cmd: data[offset + 4] ?? 0,
    frg: data[offset + 5] ?? 0,
    wnd: data.readUInt16LE(offset + 6),
    ts: data.readUInt32LE(offset + 8),
    sn: data.readUInt32LE(offset + 12),
    una: data.readUInt32LE(offset + 16),
    len: data.readUInt32LE(offset + 20),
  };
}

export function writeSegmentHeader(out: Buffer, h: SegmentHeader): void {
  out.writeUInt32LE(h.conv >>> 0, 0);
  out[4] = h.cmd;
  out[5] = h.frg;
  out.writeUInt16LE(h.wnd, 6);
  out.writeUInt32LE(h.ts >>> 0, 8);
  out.writeUInt32LE(h.sn >>> 0, 12);
  out.writeUInt32LE(h.una >>> 0, 16);
  out.writeUInt32LE(h.len >>> 0, 20);
}

/** Packs segments into datagrams of at most `mtu` KCP bytes, each with `headroom` spare bytes in front. */
export class DatagramWriter {
  private buf: Buffer | undefined;
  private used = 0;

  constructor(
    private readonly mtu: number,
    private readonly headroom: number,
    private readonly output: (datagram: Buffer) => void,
  ) {}

  /** `size` bytes to fill, in the current datagram or a new one. */
  take(size: number): Buffer {
    if (this.buf && this.used + size > this.mtu) this.end();
    if (!this.buf) {
      this.buf = Buffer.allocUnsafe(this.headroom + this.mtu);
      this.used = 0;
    }
    const start = this.headroom + this.used;
    this.used += size;
    return this.buf.subarray(start, start + size);
  }

  end(): void {
    if (this.buf && this.used > 0) this.output(this.buf.subarray(0, this.headroom + this.used));
    this.buf = undefined;
    this.used = 0;
  }
}
