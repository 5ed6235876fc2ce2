/**
 * The client side of QUIC, as frpc: one QUIC connection (its own UDP socket)
 * to the server's quicBindPort with ALPN "frp", then one stream per logical
 * connection. QUIC always runs TLS 1.3: without `transport.tls.enable` no
 * certificate files are used, and as frpc the server is verified only
 * against `trustedCaFile` (or a pinned fingerprint, burrow's addition),
 * checked right after the handshake, before any stream is opened.
 * `proxyURL` does not apply (UDP cannot cross a CONNECT proxy).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError, describeError } from '../../util/errors.js';
import type { DialOptions } from '../index.js';
import { parseCaBundle } from '../peer-verify.js';
import { resolveHost } from '../resolve.js';
import { checkPort, checkWait, DEFAULT_DIAL_TIMEOUT_MS, formatAddress } from '../tcp.js';
import { clientCrypto, quicConfig } from './quic-config.js';
import { loadQuic } from './quic-native.js';
import { QuicSession } from './quic-session.js';
import { chainRejection, fingerprintRejection } from './quic-verify.js';

export async function dialQuicSession(opts: DialOptions): Promise<QuicSession> {
  const { quic, silentLogger } = await loadQuic('transport.protocol');
  checkPort(opts.port, false);
  const total = checkWait(opts.timeoutMs, DEFAULT_DIAL_TIMEOUT_MS, 'dial timeout');
  const started = Date.now();
  const target = formatAddress(opts.host, opts.port);
  const address = await resolveHost(opts.host, opts.dnsServer, total);
  const tls = opts.tls;
  const serverName = tls?.serverName || opts.host;
  let client: InstanceType<typeof quic.QUICClient>;
  try {
    client = await quic.QUICClient.createQUICClient(
      {
        host: address,
        port: opts.port,
        localHost: opts.localAddress || (net.isIPv6(address) ? '::' : '0.0.0.0'),
        crypto: clientCrypto(),
        config: {
          ...quicConfig(opts.quic),
          // Checked below in TypeScript, with the rules every transport shares.
          verifyPeer: false,
          ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
        },
        logger: silentLogger(),
      },
      { timer: Math.max(1, total - (Date.now() - started)) },
    );
  } catch (err) {
    throw new BurrowError('BURROW_DIAL_FAILED', `cannot reach ${target} over QUIC: ${describeError(err)}`, { cause: err });
  }
  const session = new QuicSession(quic, client.connection, (force) => client.destroy({ force }).catch(() => {}));
  const chain = session.peerCertificates;
  const untrusted = tls?.ca !== undefined ? chainRejection(chain, { cas: parseCaBundle(tls.ca), host: serverName, role: 'server' }) : undefined;
  const pinned = tls?.fingerprint !== undefined ? fingerprintRejection(chain, tls.fingerprint) : undefined;
  if (untrusted !== undefined || pinned !== undefined) {
    session.destroy();
    if (untrusted !== undefined)
      throw new BurrowError('BURROW_TLS', `TLS handshake with ${target} failed: the server certificate is not trusted: ${untrusted}`);
    throw new BurrowError(
      'BURROW_TLS_FINGERPRINT_MISMATCH',
      `the server ${target} is not the one pinned by transport.tls.serverFingerprint: expected ${tls?.fingerprint}, the server presented ${pinned}`,
    );
  }
  return session;
}

/** One logical connection on a QUIC connection of its own, which closes with it (`dial` without a session). */
export async function dialQuic(opts: DialOptions): Promise<Duplex> {
  const session = await dialQuicSession(opts);
  const stream = session.open();
  stream.once('close', () => session.destroy());
  session.once('close', () => stream.destroy());
  return stream;
}
