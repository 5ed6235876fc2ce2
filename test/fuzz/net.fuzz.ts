/**
 * Properties of the parsers that read a peer's answer off a real socket:
 * STUN replies, the xtcp UDP stream's datagrams, a SOCKS5 or HTTP CONNECT proxy's replies, and the websocket
 * upgrade on the bind port. Each socket target keeps one loopback server for
 * the whole run (unref'd, so it never holds the process open).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { parseBindingResponse, stunBindingRequest } from '../../src/nathole/stun.js';
import { Kind, StreamSealer, WIRE_OVERHEAD } from '../../src/nathole/udp-stream-wire.js';
import { httpConnect } from '../../src/transport/http-connect.js';
import type { ProxyTarget } from '../../src/transport/proxy-url.js';
import { socks5Connect } from '../../src/transport/socks5.js';
import { createWebSocketAcceptor, type WebSocketAcceptor } from '../../src/transport/websocket.js';
import { BurrowError } from '../../src/util/errors.js';
import { readBytes } from '../helpers/streams.js';
import { bytes, chunked, cuts, mutated, onlyBurrowErrors, onlyBurrowErrorsAsync, target, textWith, type FuzzTarget } from './harness.js';

const COOKIE = 0x2112a442;

/** A Binding success response for `txid` carrying `ip:port`, XOR-mapped or plain, after some unknown attributes. */
function stunResponse(txid: Buffer, ip: string, port: number, xor: boolean, padding: Buffer): Buffer {
  const unknown = Buffer.concat([Buffer.from([0x80, 0x22, 0, padding.length]), padding, Buffer.alloc((4 - (padding.length % 4)) % 4)]);
  const attr = Buffer.alloc(12);
  attr.writeUInt16BE(xor ? 0x0020 : 0x0001, 0);
  attr.writeUInt16BE(8, 2);
  attr[5] = 0x01;
  const n = ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  attr.writeUInt16BE(xor ? port ^ (COOKIE >>> 16) : port, 6);
  attr.writeUInt32BE(xor ? (n ^ COOKIE) >>> 0 : n, 8);
  const body = Buffer.concat([unknown, attr]);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0101, 0);
  head.writeUInt16BE(body.length, 2);
  head.writeUInt32BE(COOKIE, 4);
  txid.copy(head, 8);
  return Buffer.concat([head, body]);
}

/** One loopback server per target; each connection is answered by whatever the current run set. */
function scriptedPeer(): { port: () => Promise<number>; answer: (onConnection: (s: net.Socket) => void) => void } {
  let handler: (s: net.Socket) => void = (s) => s.destroy();
  let listening: Promise<number> | undefined;
  return {
    port: () =>
      (listening ??= (async () => {
        const server = net.createServer((s) => {
          s.on('error', () => {});
          handler(s);
        });
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        server.unref();
        return (server.address() as AddressInfo).port;
      })()),
    answer: (h) => (handler = h),
  };
}

/** Writes `pieces` one per turn of the event loop, then ends, while reading (and dropping) what the client sends. */
async function replyInPieces(s: net.Socket, pieces: Buffer[]): Promise<void> {
  s.resume();
  for (const p of pieces) {
    if (s.destroyed) return;
    if (p.length > 0) s.write(p);
    await new Promise((r) => setImmediate(r));
  }
  s.end();
}

async function dialled(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

const TIMEOUT_MS = 3000;

/** A proxy reply, mostly well-formed, then `after` (the server's first bytes, which must stay on the socket). */
function proxyTarget(kind: ProxyTarget['kind'], port: number, withAuth: boolean): ProxyTarget {
  return withAuth ? { kind, host: '127.0.0.1', port, auth: { user: 'u', password: 'p' } } : { kind, host: '127.0.0.1', port };
}

const socks5Reply = fc
  .record({ method: fc.constantFrom(0, 2), addr: fc.constantFrom(1, 3, 4), name: fc.stringMatching(/^[a-z]{1,20}$/), after: bytes(16) })
  .map((r) => {
    const greeting = Buffer.from([5, r.method]);
    const auth = r.method === 2 ? Buffer.from([1, 0]) : Buffer.alloc(0);
    const address = r.addr === 1 ? Buffer.alloc(4, 9) : r.addr === 4 ? Buffer.alloc(16, 9) : Buffer.concat([Buffer.from([r.name.length]), Buffer.from(r.name)]);
    return { reply: Buffer.concat([greeting, auth, Buffer.from([5, 0, 0, r.addr]), address, Buffer.from([0x1f, 0x90])]), after: r.after, auth: r.method === 2 };
  });

const httpReply = fc
  .record({
    status: fc.integer({ min: 200, max: 299 }),
    reason: fc.stringMatching(/^[ -~]{0,16}$/),
    headers: fc.array(fc.stringMatching(/^[A-Za-z-]{1,8}: [ -~]{0,8}$/), { maxLength: 3 }),
    after: bytes(16),
  })
  .map((r) => ({ reply: Buffer.from([`HTTP/1.1 ${r.status} ${r.reason}`, ...r.headers].join('\r\n') + '\r\n\r\n', 'latin1'), after: r.after }));

const upgradeRequest = fc
  .record({
    path: fc.constantFrom('/~!frp', '/~!frp?x=1', '/', '/~!frpx'),
    key: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    version: fc.constantFrom('13', '8', ''),
    upgrade: fc.constantFrom('websocket', 'WebSocket', 'h2c', ''),
  })
  .map((r) =>
    Buffer.from(
      [
        `GET ${r.path} HTTP/1.1`,
        'Host: 127.0.0.1',
        ...(r.upgrade ? [`Upgrade: ${r.upgrade}`, 'Connection: Upgrade'] : []),
        `Sec-WebSocket-Key: ${Buffer.from(r.key).toString('base64')}`,
        ...(r.version ? [`Sec-WebSocket-Version: ${r.version}`] : []),
      ].join('\r\n') + '\r\n\r\n',
      'latin1',
    ),
  );

/** The status and body of an HTTP answer, with the Content-Length it declared. */
function parseAnswer(bytes: Buffer): { status: string; declared?: number; body: Buffer } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = bytes.subarray(0, end).toString('latin1');
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  return { status: head.split(' ', 2)[1] ?? '', ...(length ? { declared: Number(length[1]) } : {}), body: bytes.subarray(end + 4) };
}

let acceptor: WebSocketAcceptor | undefined;

export const netTargets: FuzzTarget[] = [
  target('nathole/stun: any datagram parses without throwing; a Binding response gives back its address', () =>
    fc.property(
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.ipV4(),
      fc.integer({ min: 0, max: 65535 }),
      fc.boolean(),
      bytes(12),
      bytes(80),
      fc.nat(),
      (tx, ip, port, xor, padding, garbage, which) => {
        const txid = Buffer.from(tx);
        const valid = stunResponse(txid, ip, port, xor, padding);
        assert.equal(parseBindingResponse(valid, txid), `${ip}:${port}`);
        assert.ok(stunBindingRequest(txid).subarray(8, 20).equals(txid));
        const flipped = Buffer.from(valid);
        flipped[which % flipped.length] ^= 1 << (which % 8);
        for (const msg of [garbage, flipped, valid.subarray(0, which % valid.length), Buffer.concat([valid.subarray(0, 20), garbage])]) {
          const r = onlyBurrowErrors(() => parseBindingResponse(msg, txid));
          assert.ok(r === undefined || (typeof r === 'string' && /^\d+\.\d+\.\d+\.\d+:\d+$/.test(r)), String(r));
        }
      },
    ),
  ),
  target('nathole/udp-stream-wire: any datagram opens to undefined unless sealed by the peer; sealed packets round-trip', () => {
    const initiator = new StreamSealer('sk', 'sid-1', true);
    const responder = new StreamSealer('sk', 'sid-1', false);
    return fc.property(
      fc.record({
        kind: fc.constantFrom(Kind.Syn, Kind.SynAck, Kind.Data, Kind.Ack, Kind.Fin, Kind.Rst, Kind.Ping),
        seq: fc.nat({ max: 0xffffffff }),
        ack: fc.nat({ max: 0xffffffff }),
        got: fc.nat({ max: 0xffffffff }),
        sack: fc.nat({ max: 0xffffffff }),
        wnd: fc.nat({ max: 0xffff }),
      }),
      bytes(64),
      bytes(WIRE_OVERHEAD + 40),
      fc.nat(),
      (header, payload, garbage, which) => {
        const sealed = initiator.seal(header, payload);
        assert.deepEqual(responder.open(sealed), { ...header, payload });
        assert.equal(initiator.open(sealed), undefined, 'a side does not accept its own packets');
        const flipped = Buffer.from(sealed);
        flipped[which % flipped.length] ^= 1 << (which % 8);
        for (const msg of [garbage, flipped, sealed.subarray(0, which % sealed.length), Buffer.concat([Buffer.from('BRU1'), garbage])]) {
          assert.equal(
            onlyBurrowErrors(() => responder.open(msg)),
            undefined,
          );
        }
      },
    );
  }),
  proxyReplyTarget(
    'transport/socks5: any proxy reply ends in success or a BurrowError; bytes past a good reply stay on the socket',
    fc.oneof(
      socks5Reply.map((r) => ({ ...r, garbage: false })),
      mutated(socks5Reply.map((r) => r.reply)).map((reply) => ({ reply, after: Buffer.alloc(0), auth: true, garbage: true })),
      bytes(30).map((reply) => ({ reply, after: Buffer.alloc(0), auth: false, garbage: true })),
    ),
    (socket, port, auth) => socks5Connect(socket, proxyTarget('socks5', port, auth), 'target.test', 7000, TIMEOUT_MS),
  ),
  proxyReplyTarget(
    'transport/http-connect: any proxy answer ends in success or a BurrowError; bytes past the head stay on the socket',
    fc
      .tuple(
        fc.oneof(
          httpReply.map((r) => ({ ...r, garbage: false })),
          mutated(httpReply.map((r) => r.reply)).map((reply) => ({ reply, after: Buffer.alloc(0), garbage: true })),
          textWith(['HTTP/1.1 ', '200', '407', ' OK', '\r\n', '\r\n\r\n', '\n'], 80).map((t) => ({
            reply: Buffer.from(t, 'latin1'),
            after: Buffer.alloc(0),
            garbage: true,
          })),
        ),
        fc.boolean(),
      )
      .map(([r, auth]) => ({ ...r, auth })),
    (socket, port, auth) => httpConnect(socket, proxyTarget('http', port, auth), 'target.test', 7000, TIMEOUT_MS),
  ),
  (() => {
    const peer = scriptedPeer();
    return target(
      'transport/websocket: any request on the bind port ends in a stream or a BurrowError, and refusals are well-formed HTTP',
      () =>
        fc.asyncProperty(
          fc.oneof(
            upgradeRequest,
            mutated(upgradeRequest),
            bytes(100),
            textWith(['GET ', '/~!frp', ' HTTP/1.1', '\r\n', 'Upgrade: websocket', 'Connection: Upgrade', '\xe9', '\xff', '%'], 200).map((t) =>
              Buffer.from(t, 'latin1'),
            ),
          ),
          cuts(),
          async (request, cutPoints) => {
            acceptor ??= createWebSocketAcceptor();
            const port = await peer.port();
            const settled = new Promise<unknown>((resolve) => {
              peer.answer((s) => {
                acceptor!.upgrade(s, 'fuzz').then(
                  (stream) => {
                    stream.destroy();
                    resolve('stream');
                  },
                  (err: unknown) => resolve(err),
                );
              });
            });
            const socket = await dialled(port);
            const answer: Buffer[] = [];
            socket.on('data', (c: Buffer) => answer.push(c));
            const closed = once(socket, 'close');
            for (const piece of chunked(request, cutPoints)) {
              if (piece.length > 0) socket.write(piece);
              await new Promise((r) => setImmediate(r));
            }
            socket.end();
            let timer: NodeJS.Timeout | undefined;
            const outcome = await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), TIMEOUT_MS)))]);
            clearTimeout(timer);
            assert.ok(outcome === 'stream' || outcome instanceof BurrowError, `upgrade ended with ${String(outcome)}`);
            await Promise.race([closed, new Promise((r) => setTimeout(r, TIMEOUT_MS))]);
            socket.destroy();
            const reply = parseAnswer(Buffer.concat(answer));
            if (reply && reply.status !== '101' && reply.declared !== undefined) {
              assert.equal(
                reply.body.length,
                reply.declared,
                `Content-Length ${reply.declared} for a ${reply.body.length}-byte body: ${JSON.stringify(reply.body.toString('latin1'))}`,
              );
            }
          },
        ),
      5,
    );
  })(),
];

interface ProxyReply {
  reply: Buffer;
  after: Buffer;
  auth: boolean;
  garbage: boolean;
}

/**
 * A proxy handshake (SOCKS5, HTTP CONNECT) against a scripted peer that sends
 * `reply` then `after` in random pieces: a good reply succeeds and leaves
 * `after` on the socket; anything else ends in a BurrowError at once.
 */
function proxyReplyTarget(
  name: string,
  replies: fc.Arbitrary<ProxyReply>,
  handshake: (socket: net.Socket, port: number, auth: boolean) => Promise<unknown>,
): FuzzTarget {
  const peer = scriptedPeer();
  return target(
    name,
    () =>
      fc.asyncProperty(replies, cuts(), async (r, cutPoints) => {
        const port = await peer.port();
        peer.answer((s) => void replyInPieces(s, chunked(Buffer.concat([r.reply, r.after]), cutPoints)));
        const socket = await dialled(port);
        try {
          const result = await onlyBurrowErrorsAsync(() => handshake(socket, port, r.auth));
          if (!r.garbage) {
            assert.equal(result, undefined, String(result));
            if (r.after.length > 0) assert.ok((await readBytes(socket, r.after.length)).equals(r.after));
          } else if (result instanceof BurrowError) {
            assert.notEqual(result.code, 'BURROW_TIMEOUT', 'a closed connection is reported at once, not waited out');
          }
        } finally {
          socket.destroy();
        }
      }),
    5,
  );
}
