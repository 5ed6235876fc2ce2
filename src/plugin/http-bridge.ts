/**
 * The shape shared by http2http and http2https: a plain HTTP server on the
 * work connections whose every request (and upgrade) goes to a ReverseProxy.
 */
import type { Duplex } from 'node:stream';
import { HttpConnectionServer } from './http-server.js';
import type { ReverseProxy } from './reverse-proxy.js';
import type { ClientPlugin, ConnectionInfo } from './types.js';

export class HttpBridgePlugin implements ClientPlugin {
  private readonly server: HttpConnectionServer;

  constructor(private readonly proxy: ReverseProxy) {
    this.server = new HttpConnectionServer({
      request: (req, res) => proxy.forward(req, res),
      upgrade: (req, socket, head) => proxy.upgrade(req, socket, head),
    });
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    this.server.handle(conn, info);
  }

  async close(): Promise<void> {
    await this.server.close();
    this.proxy.close();
  }
}
