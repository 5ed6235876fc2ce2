/**
 * Our receiving side (FEC decoder + KCP ARQ) reassembles the byte streams a
 * stock frpc and frps sent each other over KCP (test/fixtures/kcp, TLS off):
 * yamux frames, frpc's Login in the clear, and the 65536 echoed bytes intact,
 * also when every 5th datagram is taken out and only FEC can bring it back
 * (the recording has no resends to fall back on).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FecDecoder, readFecHeader } from '../../src/transport/kcp/fec.js';
import { Kcp } from '../../src/transport/kcp/kcp.js';

interface Recorded {
  t: number;
  dir: 'c2s' | 's2c';
  hex: string;
}

const records = JSON.parse(readFileSync(new URL('../fixtures/kcp/kcp-tls-off.json', import.meta.url), 'utf8')) as Recorded[];

/**
 * The in-order byte stream one side sent, as our receiver rebuilds it; `skip`
 * leaves datagrams out, but only from groups the recording has whole (with
 * their parity), since nothing else could bring them back.
 */
function reassemble(dir: 'c2s' | 's2c', skip: (seq: number) => boolean): { stream: Buffer; recovered: number } {
  const datagrams = records.filter((r) => r.dir === dir).map((r) => Buffer.from(r.hex, 'hex'));
  const perGroup = new Map<number, number>();
  for (const d of datagrams) perGroup.set(Math.floor(d.readUInt32LE(0) / 13), (perGroup.get(Math.floor(d.readUInt32LE(0) / 13)) ?? 0) + 1);
  const first = datagrams[0] as Buffer;
  const kcp = new Kcp({ conv: first.readUInt32LE(8), now: () => 0, mtu: 1350, receiveWindow: 1024, stream: true, output: () => {} });
  const fec = new FecDecoder(10, 3);
  const out: Buffer[] = [];
  for (const d of datagrams) {
    const seq = d.readUInt32LE(0);
    if (perGroup.get(Math.floor(seq / 13)) === 13 && skip(seq)) continue;
    const h = readFecHeader(d);
    assert.ok(h);
    const { payload, recovered } = fec.decode(d, h);
    if (payload) assert.equal(kcp.input(payload, true), 'ok');
    for (const r of recovered) assert.equal(kcp.input(r, false), 'ok');
    for (let b = kcp.receive(1 << 20); b; b = kcp.receive(1 << 20)) out.push(b);
  }
  return { stream: Buffer.concat(out), recovered: fec.recoveredCount };
}

/** yamux data per stream id. */
function yamuxStreams(stream: Buffer): Map<number, Buffer> {
  const data = new Map<number, Buffer[]>();
  let off = 0;
  while (stream.length - off >= 12) {
    const type = stream[off + 1];
    const id = stream.readUInt32BE(off + 4);
    const len = stream.readUInt32BE(off + 8);
    off += 12;
    if (type === 0) {
      assert.ok(stream.length - off >= len, 'a yamux data frame is cut off');
      data.set(id, [...(data.get(id) ?? []), stream.subarray(off, off + len)]);
      off += len;
    }
  }
  assert.equal(off, stream.length, 'the stream ends on a frame boundary');
  return new Map([...data].map(([id, parts]) => [id, Buffer.concat(parts)]));
}

const ECHOED = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7) % 251));

describe('the recorded frp KCP session, reassembled by our receiver', () => {
  for (const [label, skip] of [
    ['every datagram', () => false],
    ['every 5th datagram lost (rebuilt from parity)', (seq: number) => seq % 5 === 2],
  ] as const) {
    it(`frpc → frps, ${label}: Login in the clear and the echoed 64 KiB on a work stream`, () => {
      const { stream, recovered } = reassemble('c2s', skip);
      if (label !== 'every datagram') assert.ok(recovered > 0);
      const streams = yamuxStreams(stream);
      const control = streams.get(1);
      assert.ok(control);
      assert.equal(control[0], 0x6f, "frp's Login type byte");
      assert.match(control.subarray(9, 200).toString(), /"user":"nas"/);
      assert.ok(
        [...streams.values()].some((s) => s.subarray(s.length - ECHOED.length).equals(ECHOED)),
        'a stream ends with the echoed bytes',
      );
    });

    it(`frps → frpc, ${label}: the 64 KiB the user sent reach frpc's work stream`, () => {
      const { stream } = reassemble('s2c', skip);
      const streams = yamuxStreams(stream);
      assert.ok([...streams.values()].some((s) => s.subarray(s.length - ECHOED.length).equals(ECHOED)));
    });
  }
});
