/** The shape shared by https2http and https2https: TLS terminated here, then a ReverseProxy. */
import type { Duplex } from 'node:stream';
import type { HttpsConnectionServer } from './https-server.js';
import type { ReverseProxy } from './reverse-proxy.js';
import type { ClientPlugin, ConnectionInfo } from './types.js';

export class HttpsBridgePlugin implements ClientPlugin {
  constructor(
    private readonly server: HttpsConnectionServer,
    private readonly proxy: ReverseProxy,
  ) {}

  handle(conn: Duplex, info: ConnectionInfo): void {
    this.server.handle(conn, info);
  }

  async close(): Promise<void> {
    await this.server.close();
    this.proxy.close();
  }
}
