import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import { tokenDigest, verifyTokenDigest } from '../../src/protocol/auth.js';
import { CfbDecryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../../src/protocol/snappy-frame.js';
import type { Message } from '../../src/protocol/messages.js';

/**
 * Sessions recorded between a stock frpc 0.70.0 and frps 0.70.0 (token "abc",
 * user "nas", one tcp proxy "echo"). The recorded chunk boundaries are kept
 * when feeding our decoders.
 */

type Direction = 'c2s' | 's2c';
interface Recording {
  scenario: { token: string; user: string; useEncryption: boolean; useCompression: boolean };
  connections: { index: number; chunks: { dir: Direction; hex: string }[] }[];
}

function load(name: string): Recording {
  const path = fileURLToPath(new URL(`../fixtures/frp-0.70.0/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Recording;
}

function chunksOf(rec: Recording, conn: number, dir: Direction): Buffer[] {
  return rec.connections[conn].chunks.filter((c) => c.dir === dir).map((c) => Buffer.from(c.hex, 'hex'));
}

/**
 * One direction of a connection: the first plaintext message, then every
 * byte after it (as the recorded chunks, the first one trimmed).
 */
function splitFirstMessage(chunks: Buffer[]): { first: Message; rest: Buffer[]; firstFrame: Buffer } {
  const decoder = new MessageDecoder();
  for (let i = 0; i < chunks.length; i++) {
    decoder.push(chunks[i]);
    const first = decoder.next();
    if (first) {
      const remainder = decoder.takeRemainder();
      const seen = Buffer.concat(chunks.slice(0, i + 1));
      const rest = remainder.length > 0 ? [remainder, ...chunks.slice(i + 1)] : chunks.slice(i + 1);
      return { first, rest, firstFrame: seen.subarray(0, seen.length - remainder.length) };
    }
  }
  throw new Error('no complete message in the recording');
}

/** Decrypts (with our own cipher stream) and decodes every control message after the handshake. */
function controlMessages(chunks: Buffer[], key: Buffer): Message[] {
  const decryptor = new CfbDecryptor(key);
  const decoder = new MessageDecoder();
  const out: Message[] = [];
  const plaintext: Buffer[] = [];
  for (const chunk of chunks) {
    const plain = decryptor.update(chunk);
    plaintext.push(plain);
    decoder.push(plain);
    let msg: Message | undefined;
    while ((msg = decoder.next())) out.push(msg);
  }
  assert.equal(decoder.takeRemainder().length, 0, 'no partial frame left over');
  // Re-encoding gives the reference's bytes exactly.
  assert.ok(Buffer.concat(out.map(encodeMessage)).equals(Buffer.concat(plaintext)));
  return out;
}

const ECHO_64 = Buffer.concat(new Array(50).fill(Buffer.alloc(64, 0x07)));
const HELLO = Buffer.from('hello burrow\n'.repeat(100));

for (const file of ['tcp-plain.json', 'tcp-plain-encrypted-compressed.json']) {
  const rec = load(file);
  const key = deriveCipherKey('abc');
  const transformed = file !== 'tcp-plain.json';

  test(`${file}: scenario is token abc, tcp, payload options as named`, () => {
    assert.equal(rec.scenario.token, 'abc');
    assert.equal(rec.scenario.useEncryption, transformed);
    assert.equal(rec.scenario.useCompression, transformed);
    assert.equal(rec.connections.length, 4);
  });

  test(`${file}: control connection — plaintext Login/LoginResp, then the CFB-encrypted messages`, () => {
    const c2s = splitFirstMessage(chunksOf(rec, 0, 'c2s'));
    const s2c = splitFirstMessage(chunksOf(rec, 0, 's2c'));

    assert.equal(c2s.first.type, 'Login');
    assert.ok(c2s.first.type === 'Login');
    const login = c2s.first.body;
    const timestamp = transformed ? 1795625817 : 1795625812;
    assert.deepEqual(login, {
      version: '0.70.0',
      hostname: 'vm',
      os: 'linux',
      arch: 'amd64',
      user: 'nas',
      privilege_key: transformed ? '4557b2765fabab415ff7ab2863163618' : '7ae6d09e984b74d7dd3728bede6101bb',
      timestamp,
      client_spec: {},
      pool_count: 1,
    });
    assert.equal(login.privilege_key, tokenDigest('abc', timestamp));
    assert.ok(verifyTokenDigest('abc', timestamp, login.privilege_key ?? ''));
    // Our encoder writes the reference's bytes exactly (key order, omitempty, client_spec).
    assert.ok(encodeMessage(c2s.first).equals(c2s.firstFrame));

    const runId = transformed ? 'd054da42747537c5' : 'fd40918e08594abf';
    assert.deepEqual(s2c.first, { type: 'LoginResp', body: { version: '0.70.0', run_id: runId } });
    assert.ok(encodeMessage(s2c.first).equals(s2c.firstFrame));

    const remotePort = transformed ? 33519 : 43829;
    const newProxy: Message = {
      type: 'NewProxy',
      body: transformed
        ? { proxy_name: 'nas.echo', proxy_type: 'tcp', use_encryption: true, use_compression: true, remote_port: remotePort }
        : { proxy_name: 'nas.echo', proxy_type: 'tcp', remote_port: remotePort },
    };
    const ping: Message = { type: 'Ping', body: {} };
    assert.deepEqual(controlMessages(c2s.rest, key), transformed ? [ping, newProxy] : [newProxy, ping]);

    const req: Message = { type: 'ReqWorkConn', body: {} };
    const resp: Message = { type: 'NewProxyResp', body: { proxy_name: 'nas.echo', remote_addr: `:${remotePort}` } };
    const pong: Message = { type: 'Pong', body: {} };
    assert.deepEqual(controlMessages(s2c.rest, key), transformed ? [req, pong, resp, req, req] : [req, resp, pong, req, req]);

    // Each writer's IV is the first 16 bytes of its direction: plain Node AES-128-CFB with that IV
    // (independent of our stream classes) reveals the first frame's type byte.
    for (const [rest, typeByte] of [
      [s2c.rest, 0x72],
      [c2s.rest, transformed ? 0x68 : 0x70],
    ] as const) {
      const wire = Buffer.concat(rest);
      const plain = createDecipheriv('aes-128-cfb', key, wire.subarray(0, 16)).update(wire.subarray(16));
      assert.equal(plain[0], typeByte);
    }
  });

  test(`${file}: work connections — NewWorkConn, StartWorkConn, then the echoed payload`, () => {
    const runId = transformed ? 'd054da42747537c5' : 'fd40918e08594abf';
    const dstPort = transformed ? 33519 : 43829;
    const srcPorts = transformed ? [41588, 41596] : [39798, 39808];
    const expectedPayload = [ECHO_64, HELLO];

    for (const conn of [1, 2]) {
      const c2s = splitFirstMessage(chunksOf(rec, conn, 'c2s'));
      const s2c = splitFirstMessage(chunksOf(rec, conn, 's2c'));
      assert.deepEqual(c2s.first, { type: 'NewWorkConn', body: { run_id: runId } });
      assert.ok(encodeMessage(c2s.first).equals(c2s.firstFrame));
      assert.deepEqual(s2c.first, {
        type: 'StartWorkConn',
        body: {
          proxy_name: 'nas.echo',
          src_addr: '127.0.0.1',
          dst_addr: '127.0.0.1',
          src_port: srcPorts[conn - 1],
          dst_port: dstPort,
        },
      });
      assert.ok(encodeMessage(s2c.first).equals(s2c.firstFrame));

      for (const rest of [s2c.rest, c2s.rest]) {
        let payload: Buffer;
        if (transformed) {
          const decryptor = new CfbDecryptor(key);
          const decoder = new SnappyFrameDecoder();
          const reencoder = new SnappyFrameEncoder();
          const pieces: Buffer[] = [];
          for (const chunk of rest) {
            const framed = decryptor.update(chunk);
            const plain = decoder.decode(framed);
            // Each recorded chunk is one write of the reference: our framer produces the same bytes.
            assert.ok(reencoder.encode(plain).equals(framed));
            pieces.push(plain);
          }
          payload = Buffer.concat(pieces);
          // Every recorded chunk carries a whole write: the IV in the first, then a snappy chunk each.
          assert.equal(rest.length, conn === 1 ? 50 : 1);
        } else {
          payload = Buffer.concat(rest);
        }
        assert.ok(payload.equals(expectedPayload[conn - 1]), `connection ${conn}`);
      }
    }
  });

  test(`${file}: the spare pooled work connection carries only its NewWorkConn`, () => {
    const c2s = chunksOf(rec, 3, 'c2s');
    const decoder = new MessageDecoder();
    for (const chunk of c2s) decoder.push(chunk);
    assert.deepEqual(decoder.next(), {
      type: 'NewWorkConn',
      body: { run_id: transformed ? 'd054da42747537c5' : 'fd40918e08594abf' },
    });
    assert.equal(decoder.takeRemainder().length, 0);
    assert.equal(chunksOf(rec, 3, 's2c').length, 0);
  });
}
