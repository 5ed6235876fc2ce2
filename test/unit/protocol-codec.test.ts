import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MESSAGE_BODY, MessageDecoder, encodeMessage } from '../../src/protocol/codec.js';
import { encodeBody } from '../../src/protocol/message-body.js';
import { MESSAGE_TYPE_BYTE, messageTypeFromByte, type Message, type MessageType } from '../../src/protocol/messages.js';
import { BurrowError, isBurrowError, type BurrowErrorCode } from '../../src/util/errors.js';
import { prng } from '../helpers/random.js';

function frame(typeByte: number, body: string | Buffer, length?: bigint): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const header = Buffer.alloc(9);
  header[0] = typeByte;
  header.writeBigInt64BE(length ?? BigInt(b.length), 1);
  return Buffer.concat([header, b]);
}

function decodeAll(bytes: Buffer, chunkSize: (n: number) => number = () => bytes.length): Message[] {
  const decoder = new MessageDecoder();
  const out: Message[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, chunkSize(bytes.length - i));
    decoder.push(bytes.subarray(i, i + n));
    i += n;
    let msg: Message | undefined;
    while ((msg = decoder.next())) out.push(msg);
  }
  return out;
}

function expectCode(code: BurrowErrorCode, fn: () => unknown, mention?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBurrowError(err, code), `expected ${code}, got ${String(err)}`);
    if (mention) assert.match(err.message, mention);
    return true;
  });
}

test('type bytes match the reference table and map back', () => {
  const expected: Record<MessageType, string> = {
    Login: 'o',
    LoginResp: '1',
    NewProxy: 'p',
    NewProxyResp: '2',
    CloseProxy: 'c',
    NewWorkConn: 'w',
    ReqWorkConn: 'r',
    StartWorkConn: 's',
    NewVisitorConn: 'v',
    NewVisitorConnResp: '3',
    Ping: 'h',
    Pong: '4',
    UDPPacket: 'u',
    NatHoleVisitor: 'i',
    NatHoleClient: 'n',
    NatHoleResp: 'm',
    NatHoleSid: '5',
    NatHoleReport: '6',
  };
  assert.equal(Object.keys(MESSAGE_TYPE_BYTE).length, 18);
  for (const [type, char] of Object.entries(expected) as [MessageType, string][]) {
    assert.equal(MESSAGE_TYPE_BYTE[type], char.charCodeAt(0), type);
    assert.equal(messageTypeFromByte(char.charCodeAt(0)), type);
  }
  assert.equal(messageTypeFromByte(0x00), undefined);
  assert.equal(messageTypeFromByte(0x7a), undefined);
  assert.equal(messageTypeFromByte(0x16f), undefined);
  assert.equal(messageTypeFromByte(-1), undefined);
});

test('vector: framed Ping without heartbeat auth', () => {
  assert.equal(encodeMessage({ type: 'Ping', body: {} }).toString('hex'), '68' + '0000000000000002' + '7b7d');
});

test('vector: framed Ping with the HeartBeats scope (84 bytes)', () => {
  const bytes = encodeMessage({
    type: 'Ping',
    body: { privilege_key: '22bd6333f840eeeee03ad14f75fd96ac', timestamp: 1700000000 },
  });
  const expected =
    '68000000000000004b7b2270726976696c6567655f6b6579223a2232326264363333336638343065' +
    '65656565303361643134663735666439366163222c2274696d657374616d70223a313730303030303030307d';
  assert.equal(bytes.length, 84);
  assert.equal(bytes.toString('hex'), expected);
});

test('vector: Login body (172 bytes, reference key order, client_spec always) and frame header', () => {
  const login: Message = {
    type: 'Login',
    body: {
      // Given out of order on purpose: the encoder must impose the reference order.
      pool_count: 1,
      timestamp: 1700000000,
      privilege_key: '22bd6333f840eeeee03ad14f75fd96ac',
      arch: 'amd64',
      os: 'linux',
      hostname: 'host',
      version: '0.70.1',
      user: '',
      run_id: '',
      metas: {},
    },
  };
  const body =
    '{"version":"0.70.1","hostname":"host","os":"linux","arch":"amd64",' +
    '"privilege_key":"22bd6333f840eeeee03ad14f75fd96ac","timestamp":1700000000,"client_spec":{},"pool_count":1}';
  assert.equal(Buffer.byteLength(body), 172);
  assert.equal(encodeBody(login), body);
  const bytes = encodeMessage(login);
  assert.equal(bytes.subarray(0, 9).toString('hex'), '6f00000000000000ac');
  assert.equal(bytes.subarray(9).toString(), body);
});

test('vector: UDPPacket body (l absent, r with capitalised keys and Zone always present)', () => {
  const msg: Message = { type: 'UDPPacket', body: { c: 'aGVsbG8=', r: { IP: '203.0.113.7', Port: 40000 } } };
  assert.equal(encodeBody(msg), '{"c":"aGVsbG8=","r":{"IP":"203.0.113.7","Port":40000,"Zone":""}}');
  const [decoded] = decodeAll(encodeMessage(msg));
  assert.deepEqual(decoded, { type: 'UDPPacket', body: { c: 'aGVsbG8=', r: { IP: '203.0.113.7', Port: 40000, Zone: '' } } });
});

test('encoder: omitempty, sorted map keys, always-written detect_behavior, HTML escaping', () => {
  assert.equal(
    encodeBody({
      type: 'NewProxy',
      body: {
        proxy_name: 'a',
        use_encryption: false,
        use_compression: true,
        metas: { z: '1', a: '2' },
        custom_domains: [],
        locations: ['/', '/api'],
        remote_port: 0,
      },
    }),
    '{"proxy_name":"a","use_compression":true,"metas":{"a":"2","z":"1"},"locations":["/","/api"]}',
  );
  assert.equal(encodeBody({ type: 'NatHoleResp', body: { sid: 's' } }), '{"sid":"s","detect_behavior":{}}');
  assert.equal(
    encodeBody({
      type: 'NatHoleResp',
      body: { detect_behavior: { role: 'sender', candidate_ports: [{ from: 1, to: 2 }], read_timeout: 5000 } },
    }),
    '{"detect_behavior":{"role":"sender","read_timeout":5000,"candidate_ports":[{"from":1,"to":2}]}}',
  );
  assert.equal(encodeBody({ type: 'Pong', body: { error: '<a&b>\u2028' } }), '{"error":"\\u003ca\\u0026b\\u003e\\u2028"}');
  assert.equal(encodeBody({ type: 'ReqWorkConn', body: {} }), '{}');
});

test('encoder refuses bodies the peer would reject and values of the wrong type', () => {
  expectCode('BURROW_FRAME_TOO_LARGE', () => encodeMessage({ type: 'Pong', body: { error: 'x'.repeat(MAX_MESSAGE_BODY) } }));
  expectCode('BURROW_BAD_FRAME', () => encodeMessage({ type: 'Ping', body: { timestamp: 1.5 } }), /Ping\.timestamp/);
});

const SAMPLE: Message[] = [
  { type: 'Login', body: { version: '0.70.1', user: 'u', timestamp: 1700000000, metas: { k: 'v' }, client_spec: {}, pool_count: 5 } },
  { type: 'LoginResp', body: { version: '0.70.1', run_id: '0123456789abcdef' } },
  {
    type: 'NewProxy',
    body: {
      proxy_name: 'u.web',
      proxy_type: 'http',
      use_encryption: true,
      custom_domains: ['a.example.com', 'b.example.com'],
      headers: { 'X-From': 'burrow' },
      allow_users: ['*'],
    },
  },
  { type: 'NewProxyResp', body: { proxy_name: 'u.web', remote_addr: 'a.example.com' } },
  { type: 'CloseProxy', body: { proxy_name: 'u.web' } },
  { type: 'NewWorkConn', body: { run_id: 'r', privilege_key: 'k', timestamp: 1 } },
  { type: 'ReqWorkConn', body: {} },
  { type: 'StartWorkConn', body: { proxy_name: 'p', src_addr: '203.0.113.7', src_port: 65535, dst_port: 1 } },
  { type: 'NewVisitorConn', body: { run_id: 'r', proxy_name: 'p', sign_key: 's', timestamp: 2, use_compression: true } },
  { type: 'NewVisitorConnResp', body: { proxy_name: 'p', error: 'no' } },
  { type: 'Ping', body: {} },
  { type: 'Pong', body: { error: 'token mismatch' } },
  { type: 'UDPPacket', body: { c: 'AAEC', r: { IP: '::1', Port: 9, Zone: '' } } },
  { type: 'NatHoleVisitor', body: { transaction_id: 't', pre_check: true, mapped_addrs: ['1.2.3.4:5'] } },
  { type: 'NatHoleClient', body: { transaction_id: 't', sid: 's', assisted_addrs: ['10.0.0.1:1'] } },
  { type: 'NatHoleResp', body: { transaction_id: 't', detect_behavior: { mode: 2, candidate_ports: [{ from: 10, to: 20 }] } } },
  { type: 'NatHoleSid', body: { transaction_id: 't', sid: 's', response: true, nonce: 'n' } },
  { type: 'NatHoleReport', body: { sid: 's', success: true } },
];
test('every message type round-trips through encode and decode', () => {
  const bytes = Buffer.concat(SAMPLE.map(encodeMessage));
  assert.deepEqual(decodeAll(bytes), SAMPLE);
});

test('chaotic chunking: any chunk sizes give the same message sequence', () => {
  const bytes = Buffer.concat(SAMPLE.map(encodeMessage));
  const reference = decodeAll(bytes);
  assert.equal(reference.length, SAMPLE.length);
  assert.deepEqual(
    decodeAll(bytes, () => 1),
    reference,
  );
  for (let seed = 1; seed <= 200; seed++) {
    const rand = prng(seed);
    const maxChunk = 1 + rand(bytes.length);
    assert.deepEqual(
      decodeAll(bytes, (left) => 1 + rand(Math.min(left, maxChunk))),
      reference,
      `seed ${seed}`,
    );
  }
});

test('takeRemainder returns the payload bytes that followed a message and empties the decoder', () => {
  const payload = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  const start = encodeMessage({ type: 'StartWorkConn', body: { proxy_name: 'web' } });
  const all = Buffer.concat([start, payload]);
  for (const split of [1, 9, start.length - 1, start.length, start.length + 3, all.length]) {
    const decoder = new MessageDecoder();
    decoder.push(all.subarray(0, split));
    const first = decoder.next();
    decoder.push(all.subarray(split));
    const msg = first ?? decoder.next();
    assert.deepEqual(msg, { type: 'StartWorkConn', body: { proxy_name: 'web' } }, `split ${split}`);
    assert.deepEqual(decoder.takeRemainder(), payload, `split ${split}`);
    assert.equal(decoder.takeRemainder().length, 0);
    assert.equal(decoder.next(), undefined);
  }
  // Before a frame is complete, nothing is consumed: the remainder is every byte pushed.
  const partial = new MessageDecoder();
  partial.push(start.subarray(0, 5));
  partial.push(start.subarray(5, 20));
  assert.equal(partial.next(), undefined);
  assert.deepEqual(partial.takeRemainder(), start.subarray(0, 20));
});

test('an oversize length is rejected from the 9-byte header alone, before any body arrives', () => {
  const decoder = new MessageDecoder();
  decoder.push(frame(0x6f, '', 1n << 40n));
  expectCode('BURROW_FRAME_TOO_LARGE', () => decoder.next(), /Login/);
  // The decoder stays failed: its stream is out of sync.
  decoder.push(encodeMessage({ type: 'Ping', body: {} }));
  expectCode('BURROW_FRAME_TOO_LARGE', () => decoder.next());

  const justOver = new MessageDecoder();
  justOver.push(frame(0x68, '', BigInt(MAX_MESSAGE_BODY + 1)));
  expectCode('BURROW_FRAME_TOO_LARGE', () => justOver.next(), /10241/);

  const atLimit = new MessageDecoder();
  atLimit.push(frame(0x68, '', BigInt(MAX_MESSAGE_BODY)));
  assert.equal(atLimit.next(), undefined, 'exactly the limit waits for the body');

  const custom = new MessageDecoder({ maxBodyLength: 4 });
  custom.push(frame(0x68, '{"a":1}'));
  expectCode('BURROW_FRAME_TOO_LARGE', () => custom.next());
});

test('a negative length is a bad frame', () => {
  const decoder = new MessageDecoder();
  decoder.push(frame(0x68, '', -2n));
  expectCode('BURROW_BAD_FRAME', () => decoder.next(), /negative/);
});

test('an unknown type byte is rejected before the length is read', () => {
  const decoder = new MessageDecoder();
  decoder.push(Buffer.from([0x7a]));
  expectCode('BURROW_UNKNOWN_MESSAGE', () => decoder.next(), /0x7a/);
});

test('bodies that are not JSON objects are bad frames naming the message', () => {
  for (const body of ['', '{', 'null', '[]', '"x"', '42', '{"a":1}x']) {
    const decoder = new MessageDecoder();
    decoder.push(frame(0x70, body));
    expectCode('BURROW_BAD_FRAME', () => decoder.next(), /NewProxy/);
  }
});

test('a known field of the wrong JSON type is a bad frame naming the message and field', () => {
  const cases: [number, string, RegExp][] = [
    [0x70, '{"remote_port":"80"}', /NewProxy\.remote_port/],
    [0x70, '{"use_encryption":1}', /NewProxy\.use_encryption/],
    [0x70, '{"custom_domains":"a.com"}', /NewProxy\.custom_domains/],
    [0x70, '{"custom_domains":[1]}', /NewProxy\.custom_domains\[0\]/],
    [0x70, '{"metas":{"a":1}}', /NewProxy\.metas\.a/],
    [0x6f, '{"timestamp":1.5}', /Login\.timestamp/],
    [0x6f, '{"client_spec":[]}', /Login\.client_spec/],
    [0x6f, '{"client_spec":{"always_auth_pass":"yes"}}', /Login\.client_spec\.always_auth_pass/],
    [0x73, '{"src_port":70000}', /StartWorkConn\.src_port/],
    [0x75, '{"r":{"Port":"x"}}', /UDPPacket\.r\.Port/],
    [0x6d, '{"detect_behavior":{"candidate_ports":[{"from":"1"}]}}', /NatHoleResp\.detect_behavior\.candidate_ports\[0\]\.from/],
  ];
  for (const [type, body, field] of cases) {
    const decoder = new MessageDecoder();
    decoder.push(frame(type, body));
    expectCode('BURROW_BAD_FRAME', () => decoder.next(), field);
  }
});

test('unknown keys are dropped, nulls are absent, keys match case-insensitively as in the reference', () => {
  const decoder = new MessageDecoder();
  decoder.push(frame(0x70, '{"proxy_name":"a","future_field":{"x":[1]},"subdomain":null,"__proto__":{"polluted":true},"Remote_Port":81}'));
  const msg = decoder.next();
  assert.deepEqual(msg, { type: 'NewProxy', body: { proxy_name: 'a', remote_port: 81 } });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);

  const maps = new MessageDecoder();
  maps.push(frame(0x70, '{"metas":{"__proto__":"x","b":"y"}}'));
  const got = maps.next();
  assert.ok(got?.type === 'NewProxy');
  assert.equal(Object.getPrototypeOf(got.body.metas), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(got.body.metas, '__proto__')?.value, 'x');
});

test('fuzz: random and mutated input only ever raises BurrowError', () => {
  const valid = Buffer.concat(SAMPLE.map(encodeMessage));
  const typeBytes = Object.values(MESSAGE_TYPE_BYTE);
  let decodedSome = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const rand = prng(seed);
    let input: Buffer;
    if (seed % 3 === 0) {
      input = Buffer.from(valid);
      for (let k = 0, flips = 1 + rand(8); k < flips; k++) input[rand(input.length)] = rand(256);
    } else {
      const body = Buffer.alloc(rand(64));
      for (let k = 0; k < body.length; k++) body[k] = seed % 3 === 1 ? rand(256) : '{}[]":,01aet\\u'.charCodeAt(rand(14));
      input = frame(typeBytes[rand(typeBytes.length)], body, BigInt(body.length + rand(3) - 1));
    }
    const decoder = new MessageDecoder();
    try {
      for (let i = 0; i < input.length; ) {
        const n = 1 + rand(32);
        decoder.push(input.subarray(i, i + n));
        i += n;
        while (decoder.next()) decodedSome++;
      }
    } catch (err) {
      assert.ok(err instanceof BurrowError, `seed ${seed}: ${String(err)}`);
    }
  }
  assert.ok(decodedSome > 0, 'some fuzz input must decode');
});
