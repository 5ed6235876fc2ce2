/**
 * socks5: the work connection speaks SOCKS5 (CONNECT only, as frp's
 * go-socks5); with username or password set, only user/password auth is
 * accepted. The dial's outcome is the reply code (refused 5, unreachable
 * network 3, else host unreachable 4, as go-socks5 maps them).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientPluginSettings } from '../config/types.js';
import { describeError } from '../util/errors.js';
import { relay } from '../relay/pipe.js';
import { credentialsFrom, type Credentials } from './basic-auth.js';
import { ConnectionSet } from './connection-set.js';
import { DIAL_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS } from './limits.js';
import { readSocksRequest, SOCKS_REPLY, socksReply, SocksRefusal } from './socks5-handshake.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

function replyFor(err: NodeJS.ErrnoException): number {
  if (err.code === 'ECONNREFUSED') return SOCKS_REPLY.connectionRefused;
  if (err.code === 'ENETUNREACH') return SOCKS_REPLY.networkUnreachable;
  return SOCKS_REPLY.hostUnreachable;
}

export class Socks5Plugin implements ClientPlugin {
  private readonly credentials: Credentials | undefined;
  private readonly conns = new ConnectionSet();

  constructor(
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.credentials = credentialsFrom(settings.username, settings.password);
  }

  handle(conn: Duplex, _info: ConnectionInfo): void {
    this.conns.add(conn);
    conn.on('error', () => conn.destroy());
    void this.serve(conn);
  }

  private async serve(conn: Duplex): Promise<void> {
    const log = (msg: string, reason: string): void => this.context.logger.debug(`socks5: ${msg}`, { proxy: this.context.proxyName, reason });
    let request: Awaited<ReturnType<typeof readSocksRequest>>;
    try {
      request = await readSocksRequest(conn, this.credentials, HANDSHAKE_TIMEOUT_MS);
    } catch (err) {
      log('handshake refused', describeError(err));
      if (err instanceof SocksRefusal && err.answer.length > 0 && conn.writable) conn.end(err.answer);
      else conn.destroy();
      return;
    }
    const remote = net.connect({ host: request.host, port: request.port, allowHalfOpen: true });
    const timer = setTimeout(() => remote.destroy(Object.assign(new Error(`timed out after ${DIAL_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })), DIAL_TIMEOUT_MS);
    conn.once('close', () => remote.destroy());
    remote.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (remote.connecting || !remote.remoteAddress) {
        log('cannot reach the target', describeError(err));
        if (conn.writable) conn.end(socksReply(replyFor(err)));
      }
    });
    remote.once('connect', () => {
      clearTimeout(timer);
      conn.write(socksReply(SOCKS_REPLY.succeeded, { address: remote.localAddress ?? '0.0.0.0', port: remote.localPort ?? 0 }));
      void relay(conn, remote);
    });
  }

  close(): Promise<void> {
    this.conns.destroyAll();
    return Promise.resolve();
  }
}

export function createSocks5Plugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return new Socks5Plugin(settings, context);
}
