import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatagramReader, MAX_LINK_DATAGRAM, datagramFrame } from '../../src/cluster/datagram-frames.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng, randomPieces } from '../helpers/random.js';
import { patternBytes } from '../helpers/tunnel.js';

test('datagrams on a udp link come out whole and in order, whatever the chunking', () => {
  const datagrams = [Buffer.alloc(0), Buffer.from('a'), patternBytes(MAX_LINK_DATAGRAM, 3), patternBytes(1500, 4), Buffer.from('last')];
  const wire = Buffer.concat(datagrams.map(datagramFrame));
  for (let seed = 1; seed <= 50; seed++) {
    const reader = new DatagramReader();
    const out: Buffer[] = [];
    for (const piece of randomPieces(wire, prng(seed), seed % 2 === 0 ? 7 : 70_000)) out.push(...reader.push(piece));
    assert.equal(out.length, datagrams.length, `seed ${seed}`);
    for (const [i, d] of out.entries()) assert.ok(d.equals(datagrams[i]!), `seed ${seed}, datagram ${i}`);
  }
});

test('a length no datagram has is refused from its header alone, before any of its payload is kept', () => {
  const reader = new DatagramReader();
  assert.deepEqual(reader.push(datagramFrame(Buffer.from('fine'))), [Buffer.from('fine')]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(MAX_LINK_DATAGRAM + 1);
  assert.throws(
    () => reader.push(head),
    (err: unknown) => isBurrowError(err) && err.code === 'BURROW_BAD_FRAME' && /65536 bytes \(at most 65535\)/.test(err.message),
  );
});
