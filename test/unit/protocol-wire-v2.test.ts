import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AeadOpener, AeadSealer, type AeadAlgorithm } from '../../src/protocol/aead-stream.js';
import { V2FrameDecoder, V2MessageDecoder, V2_MAGIC, encodeV2Frame, encodeV2Message } from '../../src/protocol/wire-v2.js';
import { acceptServerHello, answerClientHello, controlKeys, encodeClientHello, helloTranscript } from '../../src/protocol/wire-v2-hello.js';
import { hchacha20, xchachaOpen, xchachaSeal } from '../../src/protocol/xchacha20-poly1305.js';
import type { Message } from '../../src/protocol/messages.js';
import { decodeUdpPacket, encodeUdpPacket } from '../../src/protocol/udp-packet.js';
import { isBurrowError } from '../../src/util/errors.js';
import { prng } from '../helpers/random.js';

// Vectors: the protocol notes' §13 (computed from frp's Go code and cross-checked there);
// no v2 recording of a stock frpc exists in the fixtures.
const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const range = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => from + i));

const CH =
  '{"bootstrap":{"transport":"tcp","tls":true,"tcpMux":true},"capabilities":{"message":{"codecs":["json"]},"crypto":{"algorithms":["aes-256-gcm","xchacha20-poly1305"],"clientRandom":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}}}';
const SH = '{"selected":{"message":{"codec":"json"},"crypto":{"algorithm":"aes-256-gcm","serverRandom":"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}}}';

test('magic and a Ping message frame are frp bytes', () => {
  assert.deepEqual(V2_MAGIC, hex('46 52 50 00 02 0d 0a'));
  assert.deepEqual(encodeV2Message({ type: 'Ping', body: {} }), hex('00 10 | 00 00 | 00 00 00 04 | 00 0b | 7b 7d'));
});

test('hello payloads and key schedule match the reference vectors', () => {
  const ch = encodeClientHello({ transport: 'tcp', tls: true, tcpMux: true }, range(0, 32));
  assert.equal(ch.toString(), CH);
  const answer = answerClientHello(ch, range(0x20, 32));
  assert.ok(answer.ok);
  assert.equal(answer.payload.toString(), SH);
  const ctx = acceptServerHello(ch, answer.payload);
  assert.equal(ctx.algorithm, 'aes-256-gcm');
  assert.equal(helloTranscript(Buffer.from(CH), Buffer.from(SH)).toString('hex'), '5ccf90b805bdc0b770f583b4244b2512db50418790b323924394ec5014df66a0');
  const keys = controlKeys('abc', ctx);
  assert.equal(keys.clientToServer.toString('hex'), 'e4b9b75f55dc052ca49d260896a10394b4bc6846258c70117e78318053ff02c4');
  assert.equal(keys.serverToClient.toString('hex'), '219ddaaa7f92ededca6734f8aa9e446426e0a18e4f6674c3f9d18c53ca9115cf');
});

test('a ClientHello frp cannot accept gets a ServerHello with the error; bad JSON throws', () => {
  const noCodec = answerClientHello(Buffer.from('{"capabilities":{"message":{"codecs":["cbor"]}}}'));
  assert.equal(noCodec.ok, false);
  assert.equal(noCodec.payload.toString(), '{"selected":{"message":{"codec":"json"},"crypto":{}},"error":"unsupported message codec"}');
  const shortRandom = answerClientHello(
    Buffer.from('{"capabilities":{"message":{"codecs":["json"]},"crypto":{"algorithms":["aes-256-gcm"],"clientRandom":"AAE="}}}'),
  );
  assert.equal(shortRandom.ok, false);
  assert.match(shortRandom.ok ? '' : shortRandom.error, /client random length 2, want 32/);
  const noAlg = answerClientHello(
    Buffer.from(`{"capabilities":{"message":{"codecs":["json"]},"crypto":{"algorithms":["rot13"],"clientRandom":"${range(0, 32).toString('base64')}"}}}`),
  );
  assert.equal(noAlg.ok ? '' : noAlg.error, 'no supported crypto algorithm');
  assert.throws(
    () => answerClientHello(Buffer.from('{nope')),
    (e: unknown) => isBurrowError(e, 'BURROW_BAD_FRAME'),
  );
  // The client's preference wins.
  const xc = answerClientHello(
    Buffer.from(
      `{"capabilities":{"message":{"codecs":["json"]},"crypto":{"algorithms":["xchacha20-poly1305","aes-256-gcm"],"clientRandom":"${range(0, 32).toString('base64')}"}}}`,
    ),
  );
  assert.equal(xc.ok && xc.algorithm, 'xchacha20-poly1305');
});

test('the client refuses a ServerHello with an error or an algorithm it did not offer', () => {
  const ch = encodeClientHello({ transport: 'tcp', tls: false, tcpMux: true }, range(0, 32));
  assert.throws(() => acceptServerHello(ch, Buffer.from('{"selected":{"message":{"codec":"json"},"crypto":{}},"error":"nope"}')), /nope/);
  const other = Buffer.from(
    `{"selected":{"message":{"codec":"json"},"crypto":{"algorithm":"aes-128-gcm","serverRandom":"${range(0, 32).toString('base64')}"}}}`,
  );
  assert.throws(() => acceptServerHello(ch, other), /unknown selected crypto algorithm/);
});

test('an AEAD record matches the reference vector, first and second', () => {
  const key = hex('e4b9b75f55dc052ca49d260896a10394b4bc6846258c70117e78318053ff02c4');
  const ping = encodeV2Message({ type: 'Ping', body: {} });
  const sealer = new AeadSealer('aes-256-gcm', key, hex('000102030405060708090a0b'));
  assert.deepEqual(sealer.update(ping), hex('000102030405060708090a0b 0000001c 70668eaccfee96d400cf55c05e5045aa91df97e2389b483166c85852'));
  assert.deepEqual(sealer.update(ping), hex('0000001c af27f30c1d989ad9f43ebc15623a99ccccfd3e02ed1b4dba830a3bc6'));
});

test('HChaCha20 and XChaCha20-Poly1305 match the draft RFC vectors', () => {
  assert.equal(
    hchacha20(range(0, 32), hex('000000090000004a0000000031415927')).toString('hex'),
    '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
  );
  const plaintext = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const key = range(0x80, 32);
  const nonce = range(0x40, 24);
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const sealed = xchachaSeal(key, nonce, plaintext, aad);
  assert.equal(
    sealed.toString('hex'),
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
      '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
      'c0875924c1c7987947deafd8780acf49',
  );
  assert.deepEqual(xchachaOpen(key, nonce, sealed, aad), plaintext);
});

for (const alg of ['aes-256-gcm', 'xchacha20-poly1305'] as AeadAlgorithm[]) {
  test(`${alg}: frames through the AEAD stream survive chaotic chunking`, () => {
    const rand = prng(7);
    const key = range(1, 32);
    const msgs: Message[] = [];
    for (let i = 0; i < 50; i++) msgs.push({ type: 'NewProxyResp', body: { proxy_name: `p${i}`, remote_addr: ':'.repeat(rand(3000)) } });
    const sealer = new AeadSealer(alg, key);
    const wire = Buffer.concat(msgs.map((m) => sealer.update(encodeV2Message(m))));
    const opener = new AeadOpener(alg, key);
    const decoder = new V2MessageDecoder();
    const got: Message[] = [];
    for (let at = 0; at < wire.length; ) {
      const n = 1 + rand(700);
      decoder.push(opener.update(wire.subarray(at, at + n)));
      for (let m = decoder.next(); m; m = decoder.next()) got.push(m);
      at += n;
    }
    assert.deepEqual(got, msgs);
  });

  test(`${alg}: a flipped bit or an oversize record length is refused`, () => {
    const key = range(1, 32);
    const wire = new AeadSealer(alg, key).update(Buffer.from('hello'));
    const bad = Buffer.from(wire);
    bad[bad.length - 1]! ^= 1;
    assert.throws(
      () => new AeadOpener(alg, key).update(bad),
      (e: unknown) => isBurrowError(e, 'BURROW_CIPHER'),
    );
    const nonceLength = alg === 'aes-256-gcm' ? 12 : 24;
    const huge = Buffer.concat([wire.subarray(0, nonceLength), hex('00010011')]);
    assert.throws(() => new AeadOpener(alg, key).update(huge), /exceeds limit 65552/);
    const tiny = Buffer.concat([wire.subarray(0, nonceLength), hex('0000000f')]);
    assert.throws(() => new AeadOpener(alg, key).update(tiny), /smaller than the tag/);
  });
}

test('frame decoder: flags and oversize lengths refused from the header alone', () => {
  const flags = new V2FrameDecoder();
  flags.push(hex('0010 0001 00000000'));
  assert.throws(() => flags.next(), /unsupported v2 frame flags: 1/);
  const big = new V2FrameDecoder();
  big.push(hex('0010 0000 00010001'));
  assert.throws(
    () => big.next(),
    (e: unknown) => isBurrowError(e, 'BURROW_FRAME_TOO_LARGE'),
  );
  const unknown = new V2MessageDecoder();
  unknown.push(hex('0010 0000 00000004 0063 7b7d'));
  assert.throws(() => unknown.next(), /unknown v2 message type 99/);
  const exact = new V2FrameDecoder();
  exact.push(encodeV2Frame(1, Buffer.alloc(65536)));
  assert.equal(exact.next()?.payload.length, 65536);
  assert.throws(
    () => encodeV2Frame(1, Buffer.alloc(65537)),
    (e: unknown) => isBurrowError(e, 'BURROW_FRAME_TOO_LARGE'),
  );
});

test('message frames survive chaotic chunking and keep what follows', () => {
  const rand = prng(3);
  const msgs: Message[] = [
    { type: 'Login', body: { version: '0.70.1', run_id: 'x', pool_count: 1, client_spec: {} } },
    { type: 'NewWorkConn', body: { run_id: 'abc' } },
    { type: 'UDPPacket', body: { c: 'aGVsbG8=', r: { IP: '203.0.113.7', Port: 40000, Zone: '' } } },
  ];
  const wire = Buffer.concat([...msgs.map((m) => encodeV2Message(m)), Buffer.from('tail')]);
  const decoder = new V2MessageDecoder();
  const got: Message[] = [];
  for (let at = 0; at < wire.length; ) {
    const n = 1 + rand(9);
    decoder.push(wire.subarray(at, at + n));
    at += n;
    for (let m = decoder.next(); m && got.length < 3; m = got.length < 3 ? decoder.next() : undefined) got.push(m);
  }
  assert.equal(got.length, 3);
  assert.equal(got[1]!.type, 'NewWorkConn');
  assert.equal(decoder.takeRemainder().toString(), 'tail');
});

test('UDPPacket frames in v2: the v1 body in a message frame, cut to fit a 64 KiB frame', () => {
  const to = { ip: '203.0.113.7', port: 40000, zone: '' };
  const small = encodeUdpPacket(Buffer.from('hello'), to, undefined, 'v2');
  assert.deepEqual(small, encodeV2Message({ type: 'UDPPacket', body: { c: 'aGVsbG8=', r: { IP: '203.0.113.7', Port: 40000, Zone: '' } } }));
  const big = encodeUdpPacket(Buffer.alloc(65535, 1), to, undefined, 'v2');
  assert.ok(big.length <= 8 + 65536);
  const decoder = new V2MessageDecoder();
  decoder.push(big);
  const msg = decoder.next();
  assert.equal(msg?.type, 'UDPPacket');
  const { payload } = decodeUdpPacket(msg.type === 'UDPPacket' ? msg.body : {});
  assert.ok(payload.length > 48_000 && payload.every((b) => b === 1));
});
