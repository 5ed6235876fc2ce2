import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '../../config/types.js';
import { connectionInfoFromStart } from '../../plugin/connection-info.js';
import { createClientPlugin } from '../../plugin/registry.js';
import type { ClientPlugin } from '../../plugin/types.js';
import type { StartWorkConn } from '../../protocol/messages.js';
import { limitBandwidth } from '../../relay/bandwidth-limit.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import { describeError } from '../../util/errors.js';
import { withRelayBuffers } from '../../util/socket-buffers.js';
import type { ClientProxyContext } from '../client-context.js';
import { wrapPayload } from '../payload-transform.js';
import type { ClientProxyHandler } from '../types.js';
import { type LocalServiceOptions, localServiceOf } from './local-service.js';

/** How long the client waits for the local service to accept (frp: 10 s). */
const LOCAL_DIAL_TIMEOUT_MS = 10_000;

/** Watches one relayed connection from the side (the HTTP inspector); `toLocal` carries plain bytes. */
export type ConnectionObserver = (toLocal: Duplex, local: Socket, start: StartWorkConn) => void;

export interface TcpClientProxyOptions extends LocalServiceOptions {
  /** serves the work connections instead of a dial to localIP:localPort (`[proxies.plugin]`) */
  plugin?: ClientPlugin;
  /** watches each relayed connection from the side (the HTTP inspector) */
  observe?: ConnectionObserver;
}

/**
 * Client half of the byte-stream types (tcp, http, https, tcpmux, stcp, and
 * the streams of an xtcp tunnel), as frp's HandleTCPWorkConnection: each
 * started work connection is paced by the proxy's bandwidth limiter (when
 * set), decrypted/decompressed, then handed to the proxy's plugin or joined
 * to a fresh local connection that first gets the PROXY header (when set).
 */
export class TcpClientProxy implements ClientProxyHandler {
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };

  constructor(private readonly opts: TcpClientProxyOptions) {}

  handleWorkConn(work: Duplex, start: StartWorkConn): void {
    const { plugin, limiter, logger } = this.opts;
    if (plugin) {
      // As frp: a plugin proxy never dials localIP:localPort.
      logger.debug('work connection handed to the plugin', { proxy: this.opts.name, remote: `${start.src_addr ?? ''}:${start.src_port ?? ''}` });
      const conn = wrapPayload(limiter ? limitBandwidth(work, limiter) : work, this.opts.payload);
      plugin.handle(conn, connectionInfoFromStart(start, this.opts.proxyProtocolVersion));
      return;
    }
    this.dialLocal(work, start);
  }

  /** Ends the plugin's connections; relays to the local service run until either side ends. */
  close(): void {
    if (this.opts.plugin) void this.opts.plugin.close();
  }

  private dialLocal(work: Duplex, start: StartWorkConn): void {
    const { localIP, localPort, logger, limiter } = this.opts;
    const local = connect(withRelayBuffers({ host: localIP, port: localPort, allowHalfOpen: true, noDelay: true }));
    const timer = setTimeout(() => local.destroy(new Error(`timed out after ${LOCAL_DIAL_TIMEOUT_MS} ms`)), LOCAL_DIAL_TIMEOUT_MS);
    const onDialError = (err: Error): void => {
      clearTimeout(timer);
      logger.warn('cannot reach the local service', { proxy: this.opts.name, local: `${localIP}:${localPort}`, reason: describeError(err) });
      work.destroy();
    };
    local.once('error', onDialError);
    local.once('connect', () => {
      clearTimeout(timer);
      local.off('error', onDialError);
      logger.debug('work connection started', { proxy: this.opts.name, remote: `${start.src_addr ?? ''}:${start.src_port ?? ''}` });
      const version = this.opts.proxyProtocolVersion;
      const header = version ? connectionInfoFromStart(start, version).proxyProtocolHeader : undefined;
      if (header) local.write(header);
      const plain = wrapPayload(limiter ? limitBandwidth(work, limiter) : work, this.opts.payload);
      this.opts.observe?.(plain, local, start);
      void relay(plain, local, { counter: this.traffic });
    });
  }
}

/**
 * The client half of a byte-stream proxy type for one configured proxy.
 * Throws BURROW_CONFIG_INVALID when its plugin cannot be made (frp fails the
 * proxy's start the same way).
 */
export function createTcpClientProxy(p: ProxyConfig, ctx: ClientProxyContext): TcpClientProxy {
  const local = localServiceOf(p, ctx);
  if (p.plugin) {
    // The inspector watches a local socket, which a plugin proxy does not have.
    return new TcpClientProxy({ ...local, plugin: createClientPlugin(p.plugin, { proxyName: p.name, logger: ctx.logger }) });
  }
  return new TcpClientProxy({ ...local, ...(ctx.observe ? { observe: ctx.observe } : {}) });
}
