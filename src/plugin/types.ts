/**
 * What every client plugin is to the proxy halves that use it: a sink for
 * started work connections. A plugin is made once per proxy and serves every
 * connection of that proxy until closed.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger.js';

export interface Endpoint {
  address: string;
  port: number;
}

/** The visitor's side of one connection, from StartWorkConn. */
export interface ConnectionInfo {
  /** the visitor's address; absent when the server did not say (as frp: src_addr and src_port both needed) */
  source?: Endpoint;
  /** the address the visitor connected to on the server */
  destination?: Endpoint;
  /** bytes to send the local service first, when transport.proxyProtocolVersion is set */
  proxyProtocolHeader?: Buffer;
}

export interface ClientPlugin {
  /** Takes over `conn` (the work connection, already decrypted/decompressed); never throws. */
  handle(conn: Duplex, info: ConnectionInfo): void;
  /** Stops serving and ends the connections it still holds; idempotent. */
  close(): Promise<void>;
}

export interface PluginContext {
  /** the proxy's name, for log lines */
  proxyName: string;
  logger: Logger;
}
