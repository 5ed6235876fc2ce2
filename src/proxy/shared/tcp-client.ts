import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '../../config/types.js';
import type { StartWorkConn } from '../../protocol/messages.js';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { relay, type TrafficCounter } from '../../relay/pipe.js';
import { withRelayBuffers } from '../../util/socket-buffers.js';
import type { ClientProxyContext } from '../client-context.js';
import { wrapPayload, type PayloadTransformOptions } from '../payload-transform.js';
import type { ClientProxyHandler } from '../types.js';
import { localServiceOf } from './local-service.js';

/** How long the client waits for the local service to accept (frp: 10 s). */
const LOCAL_DIAL_TIMEOUT_MS = 10_000;

/** Watches one relayed connection from the side (the HTTP inspector); `toLocal` carries plain bytes. */
export type ConnectionObserver = (toLocal: Duplex, local: Socket, start: StartWorkConn) => void;

export interface TcpClientProxyOptions {
  name: string;
  localIP: string;
  localPort: number;
  payload: PayloadTransformOptions;
  logger: Logger;
  /** watches each relayed connection from the side (the HTTP inspector) */
  observe?: ConnectionObserver;
}

/**
 * Client half of the byte-stream types (tcp, http, https, tcpmux, stcp, and
 * the streams of an xtcp tunnel): each started work connection is joined to
 * a fresh local connection.
 */
export class TcpClientProxy implements ClientProxyHandler {
  readonly traffic: TrafficCounter = { bytesIn: 0, bytesOut: 0 };

  constructor(private readonly opts: TcpClientProxyOptions) {}

  handleWorkConn(work: Duplex, start: StartWorkConn): void {
    const { localIP, localPort, logger } = this.opts;
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
      const plain = wrapPayload(work, this.opts.payload);
      this.opts.observe?.(plain, local, start);
      void relay(plain, local, { counter: this.traffic });
    });
  }
}

/** The client half of a byte-stream proxy type for one configured proxy. */
export function createTcpClientProxy(p: ProxyConfig, ctx: ClientProxyContext): TcpClientProxy {
  return new TcpClientProxy({ ...localServiceOf(p, ctx), ...(ctx.observe ? { observe: ctx.observe } : {}) });
}
