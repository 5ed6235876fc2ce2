import { randomBytes } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { BurrowError } from '../util/errors.js';

/**
 * The smallest STUN client that serves hole punching (RFC 5389 Binding
 * request/response): which address and port the NAT shows the world for
 * our UDP socket. frp asks its `natHoleStunServer` the same question.
 */

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
/** RFC 3489's CHANGED-ADDRESS and RFC 5780's OTHER-ADDRESS: the server's second address. */
const ATTR_CHANGED_ADDRESS = 0x0005;
const ATTR_OTHER_ADDRESS = 0x802c;
const HEADER = 20;

export function stunBindingRequest(transactionId: Buffer): Buffer {
  const msg = Buffer.alloc(HEADER);
  msg.writeUInt16BE(BINDING_REQUEST, 0);
  msg.writeUInt16BE(0, 2);
  msg.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(msg, 8, 0, 12);
  return msg;
}

/** True for anything shaped like a STUN message (the cookie where RFC 5389 puts it). */
export function looksLikeStun(msg: Buffer): boolean {
  return msg.length >= HEADER && (msg[0]! & 0xc0) === 0 && msg.readUInt32BE(4) === MAGIC_COOKIE;
}

/** The mapped `ip:port` of a Binding success response to `transactionId`, or undefined. */
export function parseBindingResponse(msg: Buffer, transactionId: Buffer): string | undefined {
  return parseBindingAnswer(msg, transactionId)?.mapped;
}

/**
 * A Binding success response to `transactionId`: the mapped `ip:port`
 * (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS) and the server's other address
 * (OTHER-ADDRESS, else CHANGED-ADDRESS) when it names one.
 */
export function parseBindingAnswer(msg: Buffer, transactionId: Buffer): { mapped: string | undefined; other: string | undefined } | undefined {
  if (!looksLikeStun(msg) || msg.readUInt16BE(0) !== BINDING_SUCCESS) return undefined;
  if (!msg.subarray(8, 20).equals(transactionId)) return undefined;
  const end = Math.min(msg.length, HEADER + msg.readUInt16BE(2));
  let xored: string | undefined;
  let plain: string | undefined;
  let other: string | undefined;
  let changed: string | undefined;
  for (let pos = HEADER; pos + 4 <= end; ) {
    const type = msg.readUInt16BE(pos);
    const length = msg.readUInt16BE(pos + 2);
    const value = msg.subarray(pos + 4, Math.min(end, pos + 4 + length));
    if (type === ATTR_XOR_MAPPED_ADDRESS) xored ??= decodeAddress(value, true);
    else if (type === ATTR_MAPPED_ADDRESS) plain ??= decodeAddress(value, false);
    else if (type === ATTR_OTHER_ADDRESS) other ??= decodeAddress(value, false);
    else if (type === ATTR_CHANGED_ADDRESS) changed ??= decodeAddress(value, false);
    pos += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { mapped: xored ?? plain, other: other ?? changed };
}

/** IPv4 only: hole punching here works over udp4 sockets. */
function decodeAddress(value: Buffer, xor: boolean): string | undefined {
  if (value.length < 8 || value[1] !== 0x01) return undefined;
  let port = value.readUInt16BE(2);
  let ip = value.readUInt32BE(4);
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    ip = (ip ^ MAGIC_COOKIE) >>> 0;
  }
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}:${port}`;
}

/**
 * The mapped addresses of `socket` as frp's discovery gathers them: the
 * answer of `server`, then, when it names an OTHER-ADDRESS, the answer of
 * that address too, from the same socket. frps needs two to classify the
 * NAT (with one it answers "not enough addresses"). A second server that
 * does not answer fails the discovery, as in frp.
 */
export async function discoverMappedAddresses(socket: Socket, server: string, timeoutMs = 3000): Promise<string[]> {
  const first = await askStun(socket, server, timeoutMs);
  if (first.other === undefined) return [first.mapped];
  const second = await askStun(socket, first.other, timeoutMs);
  return [first.mapped, second.mapped];
}

/**
 * Asks `server` (host:port) for the mapped address of `socket`, resending
 * every 500 ms, for at most `timeoutMs`. The socket keeps its other
 * listeners; replies are picked out by transaction id.
 */
function askStun(socket: Socket, server: string, timeoutMs: number): Promise<{ mapped: string; other: string | undefined }> {
  const sep = server.lastIndexOf(':');
  const host = server.slice(0, sep).replace(/^\[|\]$/g, '');
  const port = Number(server.slice(sep + 1));
  if (sep <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Promise.reject(new BurrowError('BURROW_CONFIG_INVALID', `natHoleStunServer "${server}" is not host:port`));
  }
  const id = randomBytes(12);
  const request = stunBindingRequest(id);
  return new Promise((resolve, reject) => {
    const send = (): void => {
      try {
        socket.send(request, port, host, () => {});
      } catch {
        // closed: onClose rejects
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new BurrowError('BURROW_CLOSED', 'STUN discovery stopped: the socket closed'));
    };
    const onMessage = (msg: Buffer, _rinfo: RemoteInfo): void => {
      const answer = parseBindingAnswer(msg, id);
      if (answer?.mapped === undefined) return;
      cleanup();
      resolve({ mapped: answer.mapped, other: answer.other });
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new BurrowError('BURROW_TIMEOUT', `no answer from STUN server ${server} within ${timeoutMs} ms`));
    }, timeoutMs);
    const resend = setInterval(send, 500);
    const cleanup = (): void => {
      clearTimeout(timer);
      clearInterval(resend);
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
    socket.on('message', onMessage);
    socket.once('close', onClose);
    send();
  });
}
