/**
 * One interface for every way of reaching the server (tcp now; websocket, kcp
 * and quic later). Server and client code never branch on the transport kind:
 * they get a connected Duplex from dial() and accepted Duplexes from listen().
 */
import type { Duplex } from 'node:stream';
import { BurrowError } from '../util/errors.js';
import { listenSniffing } from './sniff.js';
import { checkWait, DEFAULT_DIAL_TIMEOUT_MS, dialTcp } from './tcp.js';
import { startClientTls } from './tls.js';

export interface DialOptions {
  host: string;
  port: number;
  /** Whole dial, TCP connect and TLS handshake together. Default 10000 (frp dialServerTimeout). */
  timeoutMs?: number;
  /** Local address to bind (frp connectServerLocalIP). */
  localAddress?: string;
  /** TCP keepalive initial delay. Default 7200000. */
  keepAliveMs?: number;
  /** Absent = plain TCP. */
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
  };
}

export interface AcceptedConnection {
  stream: Duplex;
  remoteAddress: string;
  remotePort: number;
  tls: boolean;
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
  /** A connection failed before it was handed out (already closed); for logging. */
  onError?: (err: Error, remote: string) => void;
}

export interface TransportListener {
  readonly port: number;
  readonly address: string;
  /** Stops accepting and drops connections not yet handed out. Handed-out ones stay open. */
  close(): Promise<void>;
  /** Raw sockets currently open, handed out or not. */
  readonly connectionCount: number;
}

export interface Transport {
  readonly kind: 'tcp';
  /** A connected net.Socket, or a tls.TLSSocket whose handshake is done. */
  dial(opts: DialOptions): Promise<Duplex>;
  listen(opts: ListenOptions, onConnection: (conn: AcceptedConnection) => void): Promise<TransportListener>;
}

async function dialTcpOrTls(opts: DialOptions): Promise<Duplex> {
  const timeoutMs = checkWait(opts.timeoutMs, DEFAULT_DIAL_TIMEOUT_MS, 'dial timeout');
  const started = Date.now();
  const socket = await dialTcp({ ...opts, timeoutMs });
  if (!opts.tls) return socket;
  // The handshake gets whatever the connect left of the budget.
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  return startClientTls(socket, opts, opts.tls, left);
}

export const tcpTransport: Transport = Object.freeze({
  kind: 'tcp' as const,
  dial: dialTcpOrTls,
  listen: listenSniffing,
});

export function getTransport(kind: string): Transport {
  if (kind === 'tcp') return tcpTransport;
  throw new BurrowError('BURROW_CONFIG_INVALID', `transport protocol "${kind}" is not supported yet`);
}
