import { randomInt } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { MessageDecoder, encodeMessage } from '../protocol/codec.js';
import { CfbDecryptor, CfbEncryptor } from '../protocol/crypto.js';
import type { NatHoleSid } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';

/**
 * Hole punching datagrams in frp's format: a v1-framed NatHoleSid encrypted
 * with AES-128-CFB (its own random IV first) under the key derived from the
 * proxy's secret key. `nonce` pads the datagram by a random 0-19 "0"s.
 */
export function encodeSidDatagram(key: Buffer, msg: NatHoleSid): Buffer {
  return new CfbEncryptor(key).update(encodeMessage({ type: 'NatHoleSid', body: { ...msg, nonce: '0'.repeat(randomInt(20)) } }));
}

/** The NatHoleSid in a datagram, or undefined for anything else (wrong key, other traffic). */
export function decodeSidDatagram(key: Buffer, datagram: Buffer): NatHoleSid | undefined {
  if (datagram.length < 16 + 9 || datagram.length > 2048) return undefined;
  try {
    const decoder = new MessageDecoder({ maxBodyLength: 1024 });
    decoder.push(new CfbDecryptor(key).update(datagram));
    const msg = decoder.next();
    return msg?.type === 'NatHoleSid' ? msg.body : undefined;
  } catch {
    return undefined;
  }
}

export interface UdpPeer {
  readonly ip: string;
  readonly port: number;
}

export interface PunchOptions {
  socket: Socket;
  key: Buffer;
  sid: string;
  transactionId: string;
  /** `ip:port` strings to try: the peer's mapped (STUN) and assisted (local) addresses */
  candidates: readonly string[];
  timeoutMs: number;
  /** how often each candidate is sent to */
  intervalMs?: number;
}

/** `ip:port` for IPv4 candidates; others are skipped (punching runs on udp4 sockets). */
function parseCandidate(addr: string): UdpPeer | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { ip: m[1]!, port } : undefined;
}

/**
 * Both peers run this at once: each sends its sid to every candidate of the
 * other until a datagram carrying the same sid arrives; a request is
 * answered (`response: true`) so the other side learns the path too. The
 * first address a valid datagram came from is the peer. Rejects with
 * BURROW_NAT_HOLE_FAILED after `timeoutMs`.
 */
export function punchHole(opts: PunchOptions): Promise<UdpPeer> {
  const { socket, key, sid, transactionId } = opts;
  const targets = opts.candidates.map(parseCandidate).filter((c): c is UdpPeer => c !== undefined);
  return new Promise((resolve, reject) => {
    const probe = (): void => {
      for (const t of targets) safeSend(socket, encodeSidDatagram(key, { transaction_id: transactionId, sid }), t);
    };
    const onClose = (): void => {
      cleanup();
      reject(new BurrowError('BURROW_CLOSED', 'hole punching stopped: the socket closed'));
    };
    const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
      const got = decodeSidDatagram(key, msg);
      if (!got || got.sid !== sid) return;
      const peer = { ip: rinfo.address, port: rinfo.port };
      if (!got.response) safeSend(socket, encodeSidDatagram(key, { transaction_id: got.transaction_id, sid, response: true }), peer);
      cleanup();
      resolve(peer);
    };
    const timer = setTimeout(() => {
      cleanup();
      const why = targets.length === 0 ? 'the peer has no usable (IPv4) address' : `no answer from ${targets.length} candidate address(es)`;
      reject(new BurrowError('BURROW_NAT_HOLE_FAILED', `hole punching failed within ${opts.timeoutMs} ms: ${why}`));
    }, opts.timeoutMs);
    const ticker = setInterval(probe, opts.intervalMs ?? 100);
    const cleanup = (): void => {
      clearTimeout(timer);
      clearInterval(ticker);
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
    socket.on('message', onMessage);
    socket.once('close', onClose);
    probe();
  });
}

/**
 * After punching, a late request from the peer (its answer to us was lost)
 * must still be answered, or that side never finishes; the tunnel hands
 * datagrams it does not recognise here.
 */
export function answerLateProbe(socket: Socket, key: Buffer, sid: string, msg: Buffer, peer: UdpPeer): void {
  const got = decodeSidDatagram(key, msg);
  if (got && got.sid === sid && !got.response) safeSend(socket, encodeSidDatagram(key, { transaction_id: got.transaction_id, sid, response: true }), peer);
}

/** A send that cannot throw: a socket closed meanwhile just loses the datagram. */
function safeSend(socket: Socket, datagram: Buffer, to: UdpPeer): void {
  try {
    socket.send(datagram, to.port, to.ip, () => {});
  } catch {
    // closed
  }
}
