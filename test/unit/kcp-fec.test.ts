/**
 * kcp-go's FEC layer against a stock frpc↔frps session recorded datagram by
 * datagram (test/fixtures/kcp, README there): our Reed-Solomon gives the
 * recorded parity bytes, and lost data packets come back from recorded parity.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FEC_HEADER_SIZE, FEC_TYPE_DATA, FEC_TYPE_PARITY, FecDecoder, FecEncoder, readFecHeader } from '../../src/transport/kcp/fec.js';
import { ReedSolomon } from '../../src/transport/kcp/reed-solomon.js';
import { gfDiv, gfMul } from '../../src/transport/kcp/gf256.js';

interface Recorded {
  t: number;
  dir: 'c2s' | 's2c';
  hex: string;
}

function load(name: string): Recorded[] {
  return JSON.parse(readFileSync(new URL(`../fixtures/kcp/${name}`, import.meta.url), 'utf8')) as Recorded[];
}

/** One direction's datagrams by sequence id. */
function bySeq(records: Recorded[], dir: 'c2s' | 's2c'): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const r of records) {
    if (r.dir !== dir) continue;
    const b = Buffer.from(r.hex, 'hex');
    out.set(b.readUInt32LE(0), b);
  }
  return out;
}

/** Every complete group (10 data + 3 parity) of one direction. */
function groups(packets: Map<number, Buffer>): Buffer[][] {
  const out: Buffer[][] = [];
  for (const seq of packets.keys()) {
    if (seq % 13 !== 0) continue;
    const g = Array.from({ length: 13 }, (_, i) => packets.get(seq + i));
    if (g.every((p) => p !== undefined)) out.push(g as Buffer[]);
  }
  return out;
}

function padded(shards: Buffer[]): Buffer[] {
  const longest = Math.max(...shards.map((s) => s.length));
  return shards.map((s) => Buffer.concat([s, Buffer.alloc(longest - s.length)]));
}

const SESSIONS = ['kcp-tls-off.json', 'kcp-tls-on.json'] as const;

describe('GF(2^8), polynomial 0x11d', () => {
  it('multiplies and divides as inverse operations', () => {
    assert.equal(gfMul(2, 0x80), 0x1d);
    for (let a = 1; a < 256; a += 7) for (let b = 1; b < 256; b += 11) assert.equal(gfDiv(gfMul(a, b), b), a);
  });
});

describe('kcp FEC against the recorded frp session', () => {
  for (const name of SESSIONS) {
    const records = load(name);
    it(`${name}: every datagram has a FEC header whose type matches its place in the group`, () => {
      for (const r of records) {
        const b = Buffer.from(r.hex, 'hex');
        const h = readFecHeader(b);
        assert.ok(h, `datagram ${r.hex.slice(0, 16)} decodes`);
        assert.equal(h.type, h.seq % 13 < 10 ? FEC_TYPE_DATA : FEC_TYPE_PARITY);
      }
    });

    it(`${name}: our Reed-Solomon re-encodes every recorded parity shard`, () => {
      const rs = new ReedSolomon(10, 3);
      let checked = 0;
      for (const dir of ['c2s', 's2c'] as const) {
        for (const g of groups(bySeq(records, dir))) {
          const data = padded(g.slice(0, 10).map((p) => p.subarray(FEC_HEADER_SIZE)));
          const parity = rs.encode(data);
          for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.from(parity[i] as Uint8Array), (g[10 + i] as Buffer).subarray(FEC_HEADER_SIZE));
          checked++;
        }
      }
      assert.ok(checked > 0, 'at least one complete group');
    });

    it(`${name}: our encoder fed the recorded data packets writes the recorded parity packets`, () => {
      for (const dir of ['c2s', 's2c'] as const) {
        const packets = bySeq(records, dir);
        const enc = new FecEncoder(10, 3, () => 0);
        for (const g of groups(packets)) {
          if ((g[0] as Buffer).readUInt32LE(0) !== 0) continue;
          const sent: Buffer[] = [];
          for (const p of g.slice(0, 10)) sent.push(...enc.encode(Buffer.from(p), 1000));
          assert.deepEqual(sent, g);
        }
      }
    });

    it(`${name}: up to 3 lost packets of a group are rebuilt from the recorded parity`, () => {
      let rebuilt = 0;
      for (const dir of ['c2s', 's2c'] as const) {
        let n = 0;
        for (const g of groups(bySeq(records, dir))) {
          // a different loss pattern per group, always 3 of 13, data shards among them
          const lost = new Set([n % 10, (n * 3 + 1) % 13, (n * 7 + 5) % 13]);
          n++;
          const dec = new FecDecoder(10, 3);
          const got: Buffer[] = [];
          for (const [i, p] of g.entries()) {
            if (lost.has(i)) continue;
            const h = readFecHeader(p);
            assert.ok(h);
            const r = dec.decode(p, h);
            got.push(...r.recovered);
          }
          const expected = [...lost]
            .filter((i) => i < 10)
            .sort((a, b) => a - b)
            .map((i) => (g[i] as Buffer).subarray(8));
          assert.deepEqual(got, expected);
          rebuilt += expected.length;
        }
      }
      assert.ok(rebuilt > 0);
    });
  }
});

describe('Reed-Solomon 10+3 with random losses', () => {
  it('rebuilds the data whenever at most 3 of 13 shards are lost', () => {
    const rs = new ReedSolomon(10, 3);
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let round = 0; round < 200; round++) {
      const size = 1 + (rand() % 64);
      const data = Array.from({ length: 10 }, () => Uint8Array.from({ length: size }, () => rand() & 0xff));
      const all: (Uint8Array | null)[] = [...data, ...rs.encode(data)];
      const losses = rand() % 4;
      for (let k = 0; k < losses; k++) all[rand() % 13] = null;
      assert.ok(rs.reconstructData(all));
      for (let i = 0; i < 10; i++) assert.deepEqual(all[i], data[i]);
    }
  });

  it('reports failure with 4 losses', () => {
    const rs = new ReedSolomon(10, 3);
    const data = Array.from({ length: 10 }, (_, i) => Uint8Array.of(i));
    const all: (Uint8Array | null)[] = [...data, ...rs.encode(data)];
    all[0] = all[1] = all[2] = all[3] = null;
    assert.equal(rs.reconstructData(all), false);
  });
});

describe('FEC decoder bounds', () => {
  it('keeps at most its group limit and ignores stale groups', () => {
    const dec = new FecDecoder(10, 3, 4);
    const packet = (seq: number): Buffer => {
      const b = Buffer.alloc(40);
      b.writeUInt32LE(seq, 0);
      b.writeUInt16LE(FEC_TYPE_DATA, 4);
      b.writeUInt16LE(34, 6);
      return b;
    };
    for (let g = 0; g < 100; g++) {
      const p = packet(g * 13);
      dec.decode(p, readFecHeader(p) as NonNullable<ReturnType<typeof readFecHeader>>);
    }
    assert.ok((dec as unknown as { groups: Map<number, unknown> }).groups.size <= 4);
  });

  it('refuses a data packet whose size field disagrees with its length', () => {
    const b = Buffer.alloc(40);
    b.writeUInt16LE(FEC_TYPE_DATA, 4);
    b.writeUInt16LE(99, 6);
    assert.equal(readFecHeader(b), undefined);
  });
});
