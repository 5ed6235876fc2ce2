/**
 * TLS on top of an already connected TCP socket: the client upgrade used by
 * dial, and the server side used after the first-byte sniff decided "TLS".
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { BurrowError, describeError } from '../util/errors.js';
import { withTimeout } from '../util/timeout.js';
import type { DialOptions, ListenOptions } from './index.js';
import { certificateFingerprint, normalizeFingerprint } from './generated-cert.js';
import { formatAddress } from './tcp.js';
import { parseCaBundle, peerRejection, type PeerCheck } from './peer-verify.js';

/** frp's optional marker written before the ClientHello so a shared port can tell frp TLS from HTTPS. */
export const CUSTOM_TLS_FIRST_BYTE = 0x17;

type ClientTlsOptions = NonNullable<DialOptions['tls']>;

/** OpenSSL errors carry a short `reason`; their `message` repeats file paths and hex codes. */
function tlsReason(err: unknown): string {
  const reason = (err as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason.length > 0 ? reason : describeError(err);
}

/**
 * Runs the client handshake on `socket`. The server is verified only when a CA
 * is given, against `serverName` (or the dialled host), as frpc does.
 */
export async function startClientTls(socket: Duplex, opts: DialOptions, tlsOpts: ClientTlsOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  const target = formatAddress(opts.host, opts.port);
  const serverName = tlsOpts.serverName ?? opts.host;
  if (tlsOpts.customFirstByte) socket.write(Buffer.from([CUSTOM_TLS_FIRST_BYTE]));

  let secure: tls.TLSSocket;
  try {
    secure = tls.connect({
      socket,
      // SNI must be a host name; for an IP Node warns and Go omits it, so do we.
      ...(net.isIP(serverName) !== 0 ? {} : { servername: serverName }),
      // Used only for checkServerIdentity when a CA is given.
      host: serverName,
      // With a CA the verdict is checked below, before anything is sent (peerRejection: as Go decides).
      rejectUnauthorized: false,
      ...(tlsOpts.ca !== undefined ? { ca: tlsOpts.ca } : {}),
      ...(tlsOpts.cert !== undefined ? { cert: tlsOpts.cert } : {}),
      ...(tlsOpts.key !== undefined ? { key: tlsOpts.key } : {}),
    });
  } catch (err) {
    socket.destroy();
    throw new BurrowError('BURROW_TLS', `TLS setup for ${target} failed: ${tlsReason(err)}`, { cause: err });
  }

  const handshake = new Promise<void>((resolve, reject) => {
    const onSecure = (): void => {
      secure.off('error', onError);
      secure.off('close', onClose);
      resolve();
    };
    const onError = (err: Error): void => {
      secure.off('secureConnect', onSecure);
      secure.off('close', onClose);
      reject(new BurrowError('BURROW_TLS', `TLS handshake with ${target} failed: ${tlsReason(err)}`, { cause: err }));
    };
    const onClose = (): void => {
      secure.off('secureConnect', onSecure);
      secure.off('error', onError);
      reject(new BurrowError('BURROW_TLS', `TLS handshake with ${target} failed: the server closed the connection`));
    };
    secure.once('secureConnect', onSecure);
    secure.once('error', onError);
    secure.once('close', onClose);
  });
  try {
    await withTimeout(handshake, timeoutMs, `TLS handshake with ${target}`);
    if (tlsOpts.ca !== undefined) {
      const reason = peerRejection(secure, { cas: parseCaBundle(tlsOpts.ca), host: serverName, role: 'server' });
      if (reason !== undefined) throw new BurrowError('BURROW_TLS', `TLS handshake with ${target} failed: the server certificate is not trusted: ${reason}`);
    }
    if (tlsOpts.fingerprint !== undefined) checkPinnedFingerprint(secure, tlsOpts.fingerprint, target);
  } catch (err) {
    secure.destroy();
    socket.destroy();
    throw err;
  }
  return secure;
}

/** Before anything (the token digest included) is sent: the server must show the pinned certificate. */
function checkPinnedFingerprint(secure: tls.TLSSocket, expected: string, target: string): void {
  const peer = secure.getPeerX509Certificate();
  const got = peer ? certificateFingerprint(peer) : 'no certificate';
  if (peer && normalizeFingerprint(got) === normalizeFingerprint(expected)) return;
  throw new BurrowError(
    'BURROW_TLS_FINGERPRINT_MISMATCH',
    `the server ${target} is not the one pinned by transport.tls.serverFingerprint: expected ${expected}, the server presented ${got}`,
  );
}

export interface TlsAcceptor {
  /**
   * Resolves with the TLS socket once the handshake (and client-certificate
   * check) passed. `raw` is an accepted TCP socket, or any stream (TLS inside
   * a websocket).
   */
  upgrade(raw: Duplex, remote: string): Promise<tls.TLSSocket>;
}

interface PendingHandshake {
  remote: string;
  resolve(socket: tls.TLSSocket): void;
  reject(err: BurrowError): void;
}

/**
 * One tls.Server (never listening) owns the certificate and the client-cert
 * policy; sniffed sockets are fed to it with emit('connection'), which keeps
 * bytes already read from the socket. Its events name the TLS socket, not the
 * raw one, so pending handshakes are looked up by the peer's address and port,
 * which is unique among open connections to one listening socket.
 */
const PREFERRED_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function createTlsAcceptor(cfg: ListenOptions['tls'], handshakeTimeoutMs: number): TlsAcceptor {
  const mutual = cfg.ca !== undefined;
  const serverOptions: tls.TlsOptions = {
    allowHalfOpen: true,
    cert: cfg.cert,
    key: cfg.key,
    // The client certificate's verdict is checked once the handshake is done (peerRejection: as Go decides).
    ...(mutual ? { ca: cfg.ca, requestCert: true, rejectUnauthorized: false } : {}),
    handshakeTimeout: handshakeTimeoutMs,
    // AES-128-GCM first (as Go's TLS picks on CPUs with AES instructions): the
    // cheapest strong suite, and the tunnel's bulk cipher on the hot path.
    ciphers: PREFERRED_CIPHERS,
    honorCipherOrder: true,
  };
  let server: tls.Server;
  try {
    server = new tls.Server(serverOptions);
  } catch (err) {
    throw new BurrowError('BURROW_TLS', `the server TLS certificate or key cannot be used: ${tlsReason(err)}`, { cause: err });
  }

  const pending = new Map<string, PendingHandshake>();
  const keyOf = (socket: net.Socket): string | undefined =>
    socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}|${socket.remotePort ?? 0}`;

  const clientCheck = mutual ? { cas: parseCaBundle(cfg.ca ?? ''), role: 'client' as const } : undefined;
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const key = keyOf(socket);
    const entry = key === undefined ? undefined : pending.get(key);
    if (!entry) {
      socket.destroy();
      return;
    }
    const refused = clientRefusal(socket, clientCheck, entry.remote);
    if (refused) {
      socket.destroy();
      entry.reject(refused);
      return;
    }
    entry.resolve(socket);
  });

  server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
    // The address is gone once the socket is destroyed, so look it up first.
    const key = keyOf(socket);
    const entry = key === undefined ? undefined : pending.get(key);
    // Node leaves some failed sockets (handshake timeout) open.
    socket.destroy();
    // No entry: the socket had already closed and the raw socket's close reported it.
    entry?.reject(describeHandshakeFailure(err, socket.authorizationError, entry.remote, handshakeTimeoutMs));
  });

  return {
    upgrade(raw, remote) {
      // A stream that is not a TCP socket has no peer address to match
      // server events by, so it gets a server of its own (about a millisecond).
      if (!(raw instanceof net.Socket) || raw.remoteAddress === undefined) return upgradeStream(raw, remote, serverOptions, mutual, handshakeTimeoutMs);
      const key = keyOf(raw);
      if (key === undefined || pending.has(key)) {
        return Promise.reject(new BurrowError('BURROW_CLOSED', `connection from ${remote} closed before the TLS handshake`));
      }
      return new Promise<tls.TLSSocket>((resolve, reject) => {
        const settle = (): void => {
          pending.delete(key);
          raw.off('close', onRawClose);
        };
        // Some refusals (a client certificate from the wrong CA) close the
        // socket before any server event can be matched to it.
        const onRawClose = (): void => {
          settle();
          const hint = mutual ? ': the client certificate is missing or not signed by the trusted CA, or the client hung up' : ': the client hung up';
          reject(new BurrowError('BURROW_TLS', `TLS handshake from ${remote} did not complete${hint}`));
        };
        pending.set(key, {
          remote,
          resolve(socket) {
            settle();
            resolve(socket);
          },
          reject(err) {
            settle();
            reject(err);
          },
        });
        raw.once('close', onRawClose);
        server.emit('connection', raw);
      });
    },
  };
}

/** The handshake on a stream with a one-off tls.Server: its events can only be about this stream. */
function upgradeStream(raw: Duplex, remote: string, options: tls.TlsOptions, mutual: boolean, timeoutMs: number): Promise<tls.TLSSocket> {
  const server = new tls.Server(options);
  const clientCheck = mutual ? { cas: parseCaBundle(options.ca as string | Buffer), role: 'client' as const } : undefined;
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const settle = (): void => {
      raw.off('close', onRawClose);
      server.removeAllListeners();
    };
    const onRawClose = (): void => {
      settle();
      const hint = mutual ? ': the client certificate is missing or not signed by the trusted CA, or the client hung up' : ': the client hung up';
      reject(new BurrowError('BURROW_TLS', `TLS handshake from ${remote} did not complete${hint}`));
    };
    server.once('secureConnection', (socket: tls.TLSSocket) => {
      settle();
      const refused = clientRefusal(socket, clientCheck, remote);
      if (refused) {
        socket.destroy();
        reject(refused);
        return;
      }
      resolve(socket);
    });
    server.once('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      settle();
      socket.destroy();
      reject(describeHandshakeFailure(err, socket.authorizationError, remote, timeoutMs));
    });
    raw.once('close', onRawClose);
    server.emit('connection', raw);
  });
}

/** With mutual TLS: why the client's certificate is refused, or undefined when it is trusted. */
function clientRefusal(socket: tls.TLSSocket, check: PeerCheck | undefined, remote: string): BurrowError | undefined {
  if (!check) return undefined;
  if (!socket.getPeerX509Certificate()) return new BurrowError('BURROW_TLS', `TLS client ${remote} sent no certificate, but the server requires one`);
  const reason = peerRejection(socket, check);
  return reason === undefined ? undefined : new BurrowError('BURROW_TLS', `client certificate from ${remote} rejected: ${reason}`);
}

function describeHandshakeFailure(err: Error, authorizationError: Error | null | string | undefined, remote: string, timeoutMs: number): BurrowError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return new BurrowError('BURROW_TIMEOUT', `TLS handshake from ${remote} timed out after ${timeoutMs} ms`, { cause: err });
  }
  if (authorizationError) {
    return new BurrowError('BURROW_TLS', `client certificate from ${remote} rejected: ${String(authorizationError)}`, { cause: err });
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
    return new BurrowError('BURROW_TLS', `TLS client ${remote} sent no certificate, but the server requires one`, { cause: err });
  }
  return new BurrowError('BURROW_TLS', `TLS handshake from ${remote} failed: ${tlsReason(err)}`, { cause: err });
}
