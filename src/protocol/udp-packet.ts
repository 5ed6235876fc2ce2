import { isIP } from 'node:net';
import { BurrowError } from '../util/errors.js';
import { MAX_MESSAGE_BODY, encodeMessageWithin } from './codec.js';
import { MESSAGE_TYPE_BYTE, type UDPPacket } from './messages.js';
import type { WireProtocol } from './wire-codec.js';
import { V2_MAX_FRAME_PAYLOAD, v2MessageFrameFromJson } from './wire-v2.js';

/**
 * UDPPacket frames as udp and sudp payload streams carry them: one datagram
 * each, `c` the payload in standard base64 with padding, `r` the public
 * user's address as `{"IP","Port","Zone"}`.
 */

/** A datagram's far end, as the reference writes it (`IP` as text, `Zone` for scoped IPv6). */
export interface UdpAddress {
  readonly ip: string;
  readonly port: number;
  readonly zone: string;
}

/** The largest datagram burrow carries whole (the UDP length field's limit). */
export const MAX_DATAGRAM = 65535;

/**
 * Body limit burrow reads on udp/sudp payload streams. frp truncates
 * datagrams to `udpPacketSize` (1500) and reads at most 10240 bytes of body;
 * between two burrow peers that both say so (BURROW_FEATURES.wholeDatagrams)
 * datagrams travel whole, and a 64 KiB datagram is 87380 bytes of base64,
 * plus the address and the JSON around it. 88 KiB leaves 2.7 KiB for that.
 * Every other stream, the control stream included, keeps 10240.
 */
export const UDP_STREAM_MAX_BODY = 88 * 1024;

/**
 * How datagrams are sent on one payload stream. Toward a peer not known to
 * be burrow, as frp: a datagram is cut to `udpPacketSize` bytes (frp reads
 * datagrams into a buffer that size, and the kernel drops the rest), and
 * further if its frame would still pass frp's body limit of 10240 (an frp
 * reader closes the stream on such a frame).
 */
export interface UdpSendLimits {
  /** frp's `udpPacketSize`: datagram bytes kept; ignored when `whole` */
  readonly packetSize: number;
  /** the reader takes whole datagrams (it said BURROW_FEATURES.wholeDatagrams) */
  readonly whole: boolean;
}

/** frp's default `udpPacketSize`, for callers without a config. */
export const FRP_UDP_PACKET_SIZE = 1500;

/**
 * The whole frame for one datagram, ready for a single write; cut to `limits`
 * unless they say whole, and in any case to what the reader's frame limit
 * lets through (v1: 10240 toward frp, UDP_STREAM_MAX_BODY toward burrow; v2:
 * the 64 KiB frame, toward anyone).
 */
export function encodeUdpPacket(
  payload: Buffer,
  to: UdpAddress,
  limits: UdpSendLimits = { packetSize: MAX_DATAGRAM, whole: true },
  wire: WireProtocol = 'v1',
): Buffer {
  if (payload.length > MAX_DATAGRAM) {
    throw new BurrowError('BURROW_FRAME_TOO_LARGE', `datagram of ${payload.length} bytes exceeds ${MAX_DATAGRAM}`);
  }
  const bodyLimit = wire === 'v2' ? V2_MAX_FRAME_PAYLOAD - 2 : limits.whole ? UDP_STREAM_MAX_BODY : MAX_MESSAGE_BODY;
  const cut = !limits.whole && payload.length > limits.packetSize ? payload.subarray(0, Math.max(0, limits.packetSize)) : payload;
  let frame = encodeWithin(cut, to, Number.POSITIVE_INFINITY);
  const over = frame.length - 9 - bodyLimit;
  if (over > 0) {
    // base64 is 4 characters per 3 bytes: drop enough whole groups of 3 to fit.
    const keep = Math.max(0, cut.length - Math.ceil(over / 4) * 3 - 3);
    frame = encodeWithin(cut.subarray(0, keep), to, bodyLimit);
  }
  return wire === 'v2' ? v2MessageFrameFromJson('UDPPacket', frame.toString('utf8', 9)) : frame;
}

function encodeWithin(payload: Buffer, to: UdpAddress, maxBody: number): Buffer {
  if (to.zone !== '' || !Number.isInteger(to.port) || isIP(to.ip) === 0) {
    const body: UDPPacket = { r: { IP: to.ip, Port: to.port, Zone: to.zone } };
    if (payload.length > 0) body.c = payload.toString('base64');
    return encodeMessageWithin({ type: 'UDPPacket', body }, maxBody);
  }
  // The common case, built directly because it runs per datagram; the bytes are the generic
  // encoder's (a unit test compares them): base64 and an IP address need no JSON escaping.
  const c = payload.length > 0 ? `"c":"${payload.toString('base64')}",` : '';
  const json = `{${c}"r":{"IP":"${to.ip}","Port":${to.port},"Zone":""}}`;
  const frame = Buffer.allocUnsafe(9 + json.length);
  frame[0] = MESSAGE_TYPE_BYTE.UDPPacket;
  frame.writeUInt32BE(0, 1);
  frame.writeUInt32BE(json.length, 5);
  frame.write(json, 9, 'latin1');
  return frame;
}

/**
 * The datagram and address of a decoded UDPPacket. A packet a correct peer
 * never writes (payload that is not padded base64, a missing or malformed
 * address) raises BURROW_BAD_FRAME: the stream that carried it is not trusted
 * any further.
 */
export function decodeUdpPacket(msg: UDPPacket): { payload: Buffer; addr: UdpAddress } {
  const c = msg.c ?? '';
  // Node's decoder skips characters outside the alphabet, so any such character (or a
  // missing pad) shows as a length other than the one the text promises; cheaper than a regex.
  const payload = Buffer.from(c, 'base64');
  const pad = c.endsWith('==') ? 2 : c.endsWith('=') ? 1 : 0;
  if (c.length % 4 !== 0 || payload.length !== (c.length / 4) * 3 - pad) {
    throw new BurrowError('BURROW_BAD_FRAME', 'bad UDPPacket: the payload is not base64 with padding');
  }
  const r = msg.r;
  if (!r) throw new BurrowError('BURROW_BAD_FRAME', 'bad UDPPacket: the remote address is missing');
  const ip = r.IP ?? '';
  const port = r.Port ?? 0;
  if (isIP(ip) === 0) throw new BurrowError('BURROW_BAD_FRAME', `bad UDPPacket: "${ip.slice(0, 64)}" is not an IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BurrowError('BURROW_BAD_FRAME', `bad UDPPacket: port ${port} is out of range 1-65535`);
  }
  return { payload, addr: { ip, port, zone: r.Zone ?? '' } };
}

/** A stable map key for an address. */
export function udpAddressKey(addr: UdpAddress): string {
  return addr.zone ? `[${addr.ip}%${addr.zone}]:${addr.port}` : isIP(addr.ip) === 6 ? `[${addr.ip}]:${addr.port}` : `${addr.ip}:${addr.port}`;
}

/** The address of a received datagram as frp reports it: IPv4-mapped IPv6 shown as IPv4. */
export function udpAddressFrom(ip: string, port: number): UdpAddress {
  const plain = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const pct = plain.indexOf('%');
  return pct >= 0 ? { ip: plain.slice(0, pct), port, zone: plain.slice(pct + 1) } : { ip: plain, port, zone: '' };
}
