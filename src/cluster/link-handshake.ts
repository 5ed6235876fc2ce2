import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { BurrowError, describeError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';
import type { LinkReplayGuard } from './link-replay.js';

/**
 * The internal link between nodes: a node that got a user connection for a
 * tunnel another node holds dials that node's link port and says, in one
 * signed hello, what the connection is for; the owner answers with its own
 * proof and from then on the socket carries the user's bytes, served by the
 * owner as if the user had come to it. Frames: 2-byte big-endian length, then
 * JSON. Both proofs are HMAC-SHA256 under the cluster secret over the hello's
 * fields and a fresh nonce, so neither side talks to a peer that lacks it.
 */
export const LINK_KINDS = ['tcp', 'http', 'https', 'tcpmux', 'udp', 'visitor', 'nathole'] as const;
/**
 * What a link carries: a user connection of a tcp port or a vhost domain;
 * one user address of a udp port (framed datagrams, datagram-frames.ts); an
 * stcp/sudp visitor connection, or an xtcp visitor's NatHoleVisitor, for the
 * proxy named by the target (a frame from linkFrame first, then for a visitor
 * its bytes).
 */
export type LinkKind = (typeof LINK_KINDS)[number];

export interface LinkHello {
  v: 1;
  /** the dialing node */
  node: string;
  /** the link address dialled: a hello is good only at the node it was made for */
  to: string;
  kind: LinkKind;
  /** the tcp or udp port, the domain, or the proxy name */
  target: string;
  /** the user's address, ip:port, so the owner sees who it serves */
  src: string;
  ts: number;
  nonce: string;
  mac: string;
}

/** A hello, an answer or a visitor link's first frame above this is not ours. */
const MAX_FRAME = 16_384;
/** A hello signed further from our clock than this is refused (replays of an old hello). */
const MAX_SKEW_MS = 60_000;
export const LINK_HANDSHAKE_TIMEOUT_MS = 5000;

/** How long a hello passes the age check, for the replay guard that must remember its nonce that long. */
export const LINK_HELLO_WINDOW_MS = MAX_SKEW_MS;

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function sign(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

function helloText(h: Omit<LinkHello, 'mac'>): string {
  return ['burrow-link-2', h.node, h.to, h.kind, h.target, h.src, String(h.ts), h.nonce].join('\n');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && x.length === y.length && timingSafeEqual(x, y);
}

/** One frame: 2-byte big-endian length, then JSON (the hello, the answer, and what a visitor's link sends first). */
export function linkFrame(value: object): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
}

/** One frame from `socket` (no wait bound: the caller's); bytes after it are put back for whoever reads next. */
export function readLinkFrame(socket: Socket): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error, value?: unknown): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(value);
    };
    const onEnd = (): void => done(new BurrowError('BURROW_CLUSTER_LINK', 'the link closed during its handshake'));
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (len > MAX_FRAME) {
        done(new BurrowError('BURROW_CLUSTER_LINK', `link handshake frame of ${len} bytes (at most ${MAX_FRAME})`));
        return;
      }
      if (buf.length < 2 + len) return;
      let value: unknown;
      try {
        value = JSON.parse(buf.subarray(2, 2 + len).toString());
      } catch {
        done(new BurrowError('BURROW_CLUSTER_LINK', 'link handshake frame is not JSON'));
        return;
      }
      const rest = buf.subarray(2 + len);
      done(undefined, value);
      if (rest.length > 0) socket.unshift(rest);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    // A second frame on the same socket finds it paused by the first.
    socket.resume();
  });
}

/** What the answering node checks a hello against besides the secret. */
export interface LinkSelf {
  /** this node's advertised link address: a hello made for another address is refused */
  address: string;
  /** nonces already used */
  seen: LinkReplayGuard;
}

/**
 * The owner's side, top to bottom: read the hello, check its proof, age,
 * addressee and freshness, ask `accept` whether this node serves the target,
 * answer. Resolves the checked hello when the socket is now the user's;
 * throws (the caller closes the socket) otherwise.
 */
export async function answerLink(socket: Socket, secret: string, self: LinkSelf, accept: (h: LinkHello) => boolean): Promise<LinkHello> {
  return withTimeout(
    (async () => {
      const raw = await readLinkFrame(socket);
      const h = raw as Partial<LinkHello> | null;
      if (
        h?.v !== 1 ||
        typeof h.node !== 'string' ||
        typeof h.to !== 'string' ||
        typeof h.target !== 'string' ||
        typeof h.src !== 'string' ||
        typeof h.ts !== 'number' ||
        typeof h.nonce !== 'string' ||
        typeof h.mac !== 'string' ||
        !(LINK_KINDS as readonly string[]).includes(String(h.kind))
      ) {
        throw new BurrowError('BURROW_CLUSTER_LINK', 'malformed link hello');
      }
      const hello = h as LinkHello;
      if (!sameHex(hello.mac, sign(secret, helloText(hello)))) throw new BurrowError('BURROW_CLUSTER_LINK', 'link hello not signed with the cluster secret');
      if (Math.abs(Date.now() - hello.ts) > MAX_SKEW_MS) throw new BurrowError('BURROW_CLUSTER_LINK', 'link hello too old (or clocks apart)');
      // Made for another node (a claim in Redis pointed a node elsewhere), or seen before: a copy, not the node that signed it.
      if (hello.to !== self.address) throw new BurrowError('BURROW_CLUSTER_LINK', `link hello made for ${clip(hello.to)}, not for this node`);
      if (!self.seen.admit(hello.nonce, hello.ts)) throw new BurrowError('BURROW_CLUSTER_LINK', 'link hello replayed');
      const ok = accept(hello);
      socket.write(
        linkFrame(ok ? { ok: true, mac: sign(secret, `ok\n${hello.nonce}`) } : { ok: false, error: `no ${hello.kind} route for ${hello.target} here` }),
      );
      if (!ok) throw new BurrowError('BURROW_CLUSTER_LINK', `no ${hello.kind} route for ${hello.target} on this node`);
      return hello;
    })(),
    LINK_HANDSHAKE_TIMEOUT_MS,
    'cluster link handshake',
  );
}

/** The dialing side, top to bottom: connect, send the hello, check the owner's proof. Resolves the socket, ready for the user's bytes. */
export async function dialLink(addr: string, secret: string, hello: Omit<LinkHello, 'v' | 'to' | 'ts' | 'nonce' | 'mac'>, tls: boolean): Promise<Socket> {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(colon + 1));
  // The certificate is not checked: the secret's proofs authenticate both ends; TLS keeps the users' bytes private.
  const socket = tls ? connectTls({ host, port, rejectUnauthorized: false }) : connect({ host, port, noDelay: true });
  socket.on('error', () => {});
  try {
    return await withTimeout(
      (async () => {
        await new Promise<void>((resolve, reject) => {
          socket.once(tls ? 'secureConnect' : 'connect', resolve);
          socket.once('error', reject);
        });
        const body = { v: 1 as const, ...hello, to: addr, ts: Date.now(), nonce: randomBytes(16).toString('hex') };
        socket.write(linkFrame({ ...body, mac: sign(secret, helloText(body)) }));
        const answer = (await readLinkFrame(socket)) as { ok?: unknown; mac?: unknown; error?: unknown } | null;
        if (answer?.ok !== true) throw new BurrowError('BURROW_CLUSTER_LINK', `node at ${addr} refused: ${String(answer?.error ?? 'no answer')}`);
        if (typeof answer.mac !== 'string' || !sameHex(answer.mac, sign(secret, `ok\n${body.nonce}`))) {
          throw new BurrowError('BURROW_CLUSTER_LINK', `node at ${addr} does not know the cluster secret`);
        }
        return socket;
      })(),
      LINK_HANDSHAKE_TIMEOUT_MS,
      'cluster link handshake',
    );
  } catch (err) {
    socket.destroy();
    throw err instanceof BurrowError ? err : new BurrowError('BURROW_CLUSTER_LINK', `link to ${addr} failed: ${describeError(err)}`);
  }
}

/**
 * The owner serves a linked socket as the user's own connection: its peer
 * address is the user's (from the signed hello), so StartWorkConn, the
 * per-address vhost limits and X-Forwarded-For see the user, not the node.
 */
export function presentAsUser(socket: Socket, src: string): void {
  const colon = src.lastIndexOf(':');
  const address = src.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(src.slice(colon + 1));
  if (isIP(address) === 0 || !Number.isInteger(port)) return;
  Object.defineProperty(socket, 'remoteAddress', { value: address, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: port, configurable: true });
}
