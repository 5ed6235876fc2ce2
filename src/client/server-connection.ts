import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { ClientConfig } from '../config/types.js';
import { markWire } from '../control/wire-mark.js';
import { YamuxSession } from '../mux/session.js';
import { V2_MAGIC } from '../protocol/wire-v2.js';
import { getTransport, type DialOptions, type StreamSession } from '../transport/index.js';
import { proxyFromEnvironment } from '../transport/proxy-url.js';
import { BurrowError } from '../util/errors.js';

/**
 * How a session reaches the server: its control stream, then one more logical
 * connection per work or visitor connection. ServerConnection dials; the SSH
 * gateway's in-process clients use a link that never leaves the process.
 */
export interface ServerLink {
  /** the control stream; `onClose` runs once when the link is lost */
  open(onClose: (err?: Error) => void): Promise<Duplex>;
  /** a new logical connection (rejects once closed) */
  openStream(): Promise<Duplex>;
  close(): void;
}

/**
 * The client's physical link to the server for one session. With tcpMux every
 * logical connection (control, each work connection) is a yamux stream over
 * one dialled connection; without it each is a fresh dial. QUIC is its own
 * multiplexer: one QUIC connection, a QUIC stream per logical connection,
 * whatever tcpMux says (as frpc).
 */
export class ServerConnection implements ServerLink {
  private mux: StreamSession | undefined;
  private readonly plain = new Set<Duplex>();
  private closed = false;
  private readonly dialOptions: DialOptions;

  constructor(private readonly config: ClientConfig) {
    const t = config.transport;
    this.dialOptions = {
      host: config.serverAddr,
      port: config.serverPort,
      timeoutMs: t.dialServerTimeout * 1000,
      keepAliveMs: t.dialServerKeepalive > 0 ? t.dialServerKeepalive * 1000 : undefined,
      localAddress: t.connectServerLocalIP || undefined,
      // As frpc: an empty proxyURL falls back to the http_proxy environment variable (not for loopback or no_proxy hosts).
      proxyURL: t.proxyURL || proxyFromEnvironment(config.serverAddr),
      dnsServer: config.dnsServer || undefined,
      quic: { keepalivePeriodMs: t.quic.keepalivePeriod * 1000, maxIdleTimeoutMs: t.quic.maxIdleTimeout * 1000, maxIncomingStreams: t.quic.maxIncomingStreams },
      // wss always runs TLS; the tls.* files and server name still apply.
      tls:
        t.tls.enable || t.protocol === 'wss'
          ? {
              customFirstByte: !t.tls.disableCustomTLSFirstByte,
              serverName: t.tls.serverName || undefined,
              ca: t.tls.trustedCaFile ? readFileSync(t.tls.trustedCaFile) : undefined,
              cert: t.tls.certFile ? readFileSync(t.tls.certFile) : undefined,
              key: t.tls.keyFile ? readFileSync(t.tls.keyFile) : undefined,
              fingerprint: t.tls.serverFingerprint || undefined,
            }
          : undefined,
    };
  }

  /** Dials the server and returns the control stream. */
  async open(onClose: (err?: Error) => void): Promise<Duplex> {
    const transport = getTransport(this.config.transport.protocol);
    let mux: StreamSession;
    if (transport.dialSession) mux = await transport.dialSession(this.dialOptions);
    else {
      const conn = await transport.dial(this.dialOptions);
      if (!this.config.transport.tcpMux) {
        this.track(conn);
        conn.once('close', () => onClose());
        return conn;
      }
      mux = new YamuxSession(conn, {
        client: true,
        keepaliveIntervalMs: this.config.transport.tcpMuxKeepaliveInterval * 1000,
      });
    }
    if (this.closed) {
      mux.destroy();
      throw new BurrowError('BURROW_CLOSED', 'connection to the server is closed');
    }
    mux.on('error', () => {});
    mux.once('close', (err?: Error) => onClose(err));
    this.mux = mux;
    return mux.open();
  }

  /**
   * A new logical connection for a work or visitor connection. With wire
   * protocol v2 it opens with the magic (and no hello, as frpc) and is marked
   * so its messages are v2 frames.
   */
  async openStream(): Promise<Duplex> {
    if (this.closed) throw new BurrowError('BURROW_CLOSED', 'connection to the server is closed');
    let stream: Duplex;
    if (this.mux) stream = this.mux.open();
    else {
      stream = await getTransport(this.config.transport.protocol).dial(this.dialOptions);
      this.track(stream);
    }
    if (this.config.transport.wireProtocol === 'v2') {
      markWire(stream, 'v2');
      stream.write(V2_MAGIC);
    }
    return stream;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mux?.destroy();
    for (const c of this.plain) c.destroy();
  }

  private track(conn: Duplex): void {
    if (this.closed) {
      conn.destroy();
      return;
    }
    this.plain.add(conn);
    conn.once('close', () => this.plain.delete(conn));
  }
}

/** Only this machine is on the path to a loopback server, so nobody can pose as it. */
function loopbackServer(addr: string): boolean {
  return addr === 'localhost' || addr === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr);
}

/**
 * What the client says at start about trusting the server. Unlike frpc, which
 * skips verification silently when no CA is configured.
 */
export function serverTrustWarnings(config: ClientConfig): string[] {
  const t = config.transport;
  if (loopbackServer(config.serverAddr)) return [];
  if (!t.tls.enable && t.protocol !== 'wss') {
    return [
      'transport.tls.enable is false: the server is not verified, and tunnel traffic crosses the network unencrypted unless a proxy sets transport.useEncryption',
    ];
  }
  if (t.tls.trustedCaFile === '' && t.tls.serverFingerprint === '') {
    return [
      "the server's certificate is not verified (no transport.tls.trustedCaFile), so anyone on the path could pose as the server; " +
        'pin it with transport.tls.serverFingerprint = "sha256:…" as `burrow server` prints it at start',
    ];
  }
  return [];
}
