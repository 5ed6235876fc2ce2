/**
 * tls2raw: TLS ends here (crtPath/keyPath, or a generated certificate); the
 * plain bytes go to localAddr, after the PROXY protocol header when the proxy
 * sends one (frp's e2e checks v2 with the visitor's address).
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ClientPluginSettings } from '../config/types.js';
import { describeError } from '../util/errors.js';
import { ConnectionSet } from './connection-set.js';
import { HANDSHAKE_TIMEOUT_MS } from './limits.js';
import { joinToLocal } from './local-join.js';
import { parseLocalAddr, type HostPort } from './local-addr.js';
import { pluginSecureContext } from './tls-certificate.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

export class Tls2RawPlugin implements ClientPlugin {
  private readonly target: HostPort;
  private readonly secureContext: tls.SecureContext;
  private readonly conns = new ConnectionSet();

  constructor(
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.target = parseLocalAddr(settings.localAddr, 'tls2raw');
    this.secureContext = pluginSecureContext(settings.crtPath, settings.keyPath, 'tls2raw');
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    const socket = new tls.TLSSocket(conn, { isServer: true, secureContext: this.secureContext });
    this.conns.add(socket);
    socket.once('close', () => conn.destroy());
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    const onHandshakeError = (err: Error): void => {
      clearTimeout(timer);
      this.context.logger.warn('tls2raw: TLS handshake failed', { proxy: this.context.proxyName, reason: describeError(err) });
      socket.destroy();
    };
    socket.once('error', onHandshakeError);
    socket.once('secure', () => {
      clearTimeout(timer);
      socket.off('error', onHandshakeError);
      joinToLocal(socket, { host: this.target.host, port: this.target.port }, info, this.context, 'tls2raw');
    });
  }

  close(): Promise<void> {
    this.conns.destroyAll();
    return Promise.resolve();
  }
}

export function createTls2RawPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return new Tls2RawPlugin(settings, context);
}
