/**
 * The client side of KCP, as frpc: a UDP socket of its own connected to the
 * server, a random conversation id, then [0x17] and TLS on top when enabled
 * (the same first-byte rule as over TCP). KCP has no handshake: the session is
 * usable at once and the TLS handshake or the login is the first exchange.
 * `proxyURL` does not apply (UDP cannot go through an HTTP or SOCKS5 CONNECT
 * proxy; frpc ignores it for KCP too).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../../util/errors.js';
import type { DialOptions } from '../index.js';
import { resolveHost } from '../resolve.js';
import { checkPort, checkWait, DEFAULT_DIAL_TIMEOUT_MS, describeSocketError, formatAddress } from '../tcp.js';
import { startClientTls } from '../tls.js';
import { withTimeout } from '../../util/timeout.js';
import { KCP_SOCKET_BUFFER } from './kcp-listener.js';
import { KcpSession } from './kcp-session.js';

export async function dialKcp(opts: DialOptions): Promise<Duplex> {
  checkPort(opts.port, false);
  const total = checkWait(opts.timeoutMs, DEFAULT_DIAL_TIMEOUT_MS, 'dial timeout');
  const started = Date.now();
  const left = (): number => Math.max(1, total - (Date.now() - started));
  const target = formatAddress(opts.host, opts.port);
  const address = await resolveHost(opts.host, opts.dnsServer, total);
  const socket = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize: KCP_SOCKET_BUFFER, sendBufferSize: KCP_SOCKET_BUFFER });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        const connect = (): void => socket.connect(opts.port, address, () => resolve());
        if (opts.localAddress) socket.bind({ address: opts.localAddress, port: 0 }, connect);
        else connect();
      }),
      left(),
      `KCP connect to ${target}`,
    );
  } catch (err) {
    socket.close();
    if (err instanceof BurrowError) throw err;
    throw new BurrowError('BURROW_DIAL_FAILED', `cannot reach ${target} over KCP: ${describeSocketError(err)}`, { cause: err });
  }
  socket.removeAllListeners('error');

  const session = new KcpSession({
    conv: randomBytes(4).readUInt32LE(0),
    remote: target,
    send: (d) => socket.send(d),
  });
  // A refused port (ICMP) or a vanished interface ends this session, not the process.
  socket.on('error', (err) => session.destroy(new BurrowError('BURROW_CLOSED', `KCP to ${target} failed: ${describeSocketError(err)}`, { cause: err })));
  socket.on('message', (msg) => session.input(msg));
  session.once('close', () => {
    try {
      socket.close();
    } catch {
      // already closed
    }
  });
  if (!opts.tls) return session;
  return startClientTls(session, opts, opts.tls, left());
}
