/**
 * One interface for every way of reaching the server: tcp (plain or TLS),
 * websocket and wss. Server and client code never branch on the transport
 * kind: they get a connected Duplex from dial() and accepted Duplexes from
 * listen(). kcp runs over UDP (src/transport/kcp/); quic too
 * (src/transport/quic/), and carries its logical connections as QUIC streams:
 * it dials and accepts StreamSessions, as yamux is over the others.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { PortShare } from './port-share.js';
import type { QuicOptions } from './quic/quic-config.js';
import { BurrowError } from '../util/errors.js';
import { dialTcpOrTls, dialWebSocket, dialWss } from './dial.js';
import { listenSniffing } from './sniff.js';

export interface DialOptions {
  host: string;
  port: number;
  /** Whole dial, TCP connect and TLS handshake together. Default 10000 (frp dialServerTimeout). */
  timeoutMs?: number;
  /** Local address to bind (frp connectServerLocalIP). */
  localAddress?: string;
  /** TCP keepalive initial delay. Default 7200000. */
  keepAliveMs?: number;
  /** Reach the server through this proxy: http://[user:pass@]host:port (CONNECT) or socks5://… */
  proxyURL?: string;
  /** Resolve `host` with this DNS server (IP[:port]) instead of the system resolver. */
  dnsServer?: string;
  /** Absent = no TLS (wss uses TLS regardless, with these options when given). */
  tls?: {
    /** Write frp's 0x17 marker before the ClientHello (frp: disableCustomTLSFirstByte = false). */
    customFirstByte?: boolean;
    /** SNI and the name verified against the certificate; default host. Not sent as SNI when it is an IP address. */
    serverName?: string;
    /** Verify the server only when given (frp: trustedCaFile); otherwise any certificate is accepted. */
    ca?: string | Buffer;
    /** Client certificate and key for mutual TLS. */
    cert?: string | Buffer;
    key?: string | Buffer;
    /** `sha256:AB:CD:…`: the server's certificate must have this fingerprint (transport.tls.serverFingerprint). */
    fingerprint?: string;
  };
  /** QUIC only (frp's transport.quic.*); default frp's. */
  quic?: QuicOptions;
}

export interface AcceptedConnection {
  stream: Duplex;
  remoteAddress: string;
  remotePort: number;
  tls: boolean;
  /** what ListenOptions.admit returned for this connection */
  admission?: Admission;
}

/**
 * A connection that carries logical connections as streams of its own
 * (yamux over a stream, a QUIC connection): the client opens them, the
 * server is handed them through 'stream'. 'close' comes once, with the
 * error when it failed.
 */
export interface StreamSession {
  open(): Duplex;
  /** Now: every stream is destroyed with the connection. Idempotent. */
  destroy(err?: Error): void;
  on(event: 'stream', listener: (stream: Duplex) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: (err?: Error) => void): this;
}

/** An accepted connection that is a session (QUIC): its streams are the logical connections. */
export interface AcceptedSession {
  session: StreamSession;
  remoteAddress: string;
  remotePort: number;
  tls: boolean;
  admission?: Admission;
}

/** A place held by an accepted connection; released (idempotently) at the latest when its socket closes. */
export interface Admission {
  release(): void;
}

export interface ListenOptions {
  /** Port 0 lets the OS pick; read the result from TransportListener.port. */
  host: string;
  port: number;
  tls: {
    cert: string | Buffer;
    key: string | Buffer;
    /** Require and verify client certificates signed by this CA; implies force. */
    ca?: string | Buffer;
    /** Refuse plain connections. */
    force?: boolean;
  };
  /** A connection must send its first byte, and then finish any TLS handshake, within this. Default 10000. */
  sniffTimeoutMs?: number;
  /**
   * Asked for each TCP connection as it is accepted, before anything is read:
   * a string closes it at once (the reason is the caller's to log). `drop`
   * destroys the connection with every layer on it.
   */
  admit?: (remoteAddress: string, drop: () => void) => Admission | string;
  /**
   * frp's port sharing (vhostHTTPPort / vhostHTTPSPort equal to bindPort):
   * plain HTTP requests (but frp's websocket upgrade) go to `http`, TLS
   * ClientHellos without frp's 0x17 marker to `https`, as raw sockets.
   */
  share?: PortShare<net.Socket>;
  /** A connection failed before it was handed out (already closed); for logging. */
  onError?: (err: Error, remote: string) => void;
  /** QUIC only (frp's transport.quic.*); default frp's. */
  quic?: QuicOptions;
}

export interface TransportListener {
  readonly port: number;
  readonly address: string;
  /** Stops accepting and drops connections not yet handed out. Handed-out ones stay open. */
  close(): Promise<void>;
  /** Raw sockets currently open, handed out or not. */
  readonly connectionCount: number;
}

/** The client's `transport.protocol` values burrow runs. */
export const TRANSPORT_KINDS = ['tcp', 'websocket', 'wss', 'kcp', 'quic'] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export interface Transport<Accepted = AcceptedConnection> {
  readonly kind: TransportKind;
  /** A stream to the server with every layer of this kind set up (TCP, proxy, websocket, TLS). */
  dial(opts: DialOptions): Promise<Duplex>;
  /**
   * Kinds that multiplex by themselves (QUIC): a session whose streams are
   * the logical connections. The client uses it instead of dial + yamux.
   */
  dialSession?(opts: DialOptions): Promise<StreamSession>;
  /** Loads what the kind needs (QUIC's native module); rejects with BURROW_CONFIG_INVALID when it cannot. */
  prepare?(): Promise<void>;
  /**
   * The server side. Every TCP-based kind shares one listener: as frps, the
   * bind port takes plain, TLS, websocket and wss clients alike.
   */
  listen(opts: ListenOptions, onConnection: (conn: Accepted) => void): Promise<TransportListener>;
}

export const tcpTransport: Transport = Object.freeze({ kind: 'tcp' as const, dial: dialTcpOrTls, listen: listenSniffing });
export const websocketTransport: Transport = Object.freeze({ kind: 'websocket' as const, dial: dialWebSocket, listen: listenSniffing });
export const wssTransport: Transport = Object.freeze({ kind: 'wss' as const, dial: dialWss, listen: listenSniffing });

/** KCP over UDP (kcp-go with FEC 10/3, as frp); its listener serves frps `kcpBindPort`. */
// kcp and quic (their framing, FEC and sessions) load with the first dial or
// listen that uses them: most servers and clients never do.
export const kcpTransport: Transport = Object.freeze({
  kind: 'kcp' as const,
  dial: async (opts: DialOptions) => (await import('./kcp/kcp-dial.js')).dialKcp(opts),
  listen: async (opts: ListenOptions, onConnection: (conn: AcceptedConnection) => void) =>
    (await import('./kcp/kcp-transport.js')).listenKcpTransport(opts, onConnection),
});

/**
 * QUIC over UDP with ALPN "frp" (quic-go in frp), one stream per logical
 * connection; its listener serves frps `quicBindPort`. The native module
 * loads on first use.
 */
export const quicTransport: Transport<AcceptedSession> = Object.freeze({
  kind: 'quic' as const,
  dial: async (opts: DialOptions) => (await import('./quic/quic-dial.js')).dialQuic(opts),
  dialSession: async (opts: DialOptions): Promise<StreamSession> => (await import('./quic/quic-dial.js')).dialQuicSession(opts),
  listen: async (opts: ListenOptions, onConnection: (conn: AcceptedSession) => void) =>
    (await import('./quic/quic-listener.js')).listenQuic(opts, onConnection),
  prepare: async () => {
    await (await import('./quic/quic-native.js')).loadQuic('transport.protocol');
  },
});

const TRANSPORTS: Record<TransportKind, Transport<AcceptedConnection | AcceptedSession>> = {
  tcp: tcpTransport,
  websocket: websocketTransport,
  wss: wssTransport,
  kcp: kcpTransport,
  quic: quicTransport,
};

export function getTransport(kind: string): Transport<AcceptedConnection | AcceptedSession> {
  if ((TRANSPORT_KINDS as readonly string[]).includes(kind)) return TRANSPORTS[kind as TransportKind];
  throw new BurrowError('BURROW_CONFIG_INVALID', `protocol ${kind} is not supported`);
}
