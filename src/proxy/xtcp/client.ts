import type { Duplex } from 'node:stream';
import type { ProxyConfig } from '../../config/types.js';
import { expectMessage } from '../../control/message-io.js';
import type { YamuxSession } from '../../mux/session.js';
import { preparePunchEndpoint, type PunchEndpoint } from '../../nathole/endpoint.js';
import { punchHole } from '../../nathole/punch.js';
import { XTCP_PROTOCOL, openTunnel } from '../../nathole/tunnel.js';
import { deriveCipherKey } from '../../protocol/crypto.js';
import type { StartWorkConn } from '../../protocol/messages.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import type { ClientProxyContext, NatHoleLink } from '../client-context.js';
import { createClientPlugin } from '../../plugin/registry.js';
import type { ClientPlugin } from '../../plugin/types.js';
import type { ProxyProtocolVersion } from '../../protocol/proxy-protocol.js';
import type { BandwidthLimiter } from '../../relay/bandwidth-limit.js';
import { localServiceOf } from '../shared/local-service.js';
import { TcpClientProxy } from '../shared/tcp-client.js';
import type { ClientProxyHandler } from '../types.js';
import { newTransactionId } from './transaction-id.js';

/** frp's owner waits this long for the sid on its work connection. */
const SID_TIMEOUT_MS = 10_000;
/** The server waits 10 s for both sides; our request may wait a little longer. */
const EXCHANGE_TIMEOUT_MS = 15_000;
const DEFAULT_PUNCH_MS = 5000;

export interface XtcpOwnerOptions {
  name: string;
  /** the name as the server knows it (user-prefixed) */
  wireName: string;
  localIP: string;
  localPort: number;
  secretKey: string;
  useEncryption: boolean;
  useCompression: boolean;
  disableAssistedAddrs: boolean;
  link: NatHoleLink;
  logger: Logger;
  /** the tunnel's streams go to it instead of localIP:localPort, as frp's other stream types */
  plugin?: ClientPlugin;
  proxyProtocolVersion?: ProxyProtocolVersion;
  limiter?: BandwidthLimiter;
}

/**
 * Client half of `xtcp` on the proxy's owner. A work connection carries only
 * a session's sid (NatHoleSid); the owner then learns its addresses, answers
 * with NatHoleClient, punches towards the visitor's addresses and serves a
 * tunnel whose streams each go to the local service, transformed as frp does
 * with the key from the secret key.
 */
export class XtcpOwnerProxy implements ClientProxyHandler {
  private readonly tunnels = new Set<YamuxSession>();
  private readonly local: TcpClientProxy;

  constructor(private readonly opts: XtcpOwnerOptions) {
    this.local = new TcpClientProxy({
      name: opts.name,
      localIP: opts.localIP,
      localPort: opts.localPort,
      payload: { encryptionKey: opts.useEncryption ? deriveCipherKey(opts.secretKey) : undefined, compression: opts.useCompression },
      logger: opts.logger,
      ...(opts.plugin ? { plugin: opts.plugin } : {}),
      ...(opts.proxyProtocolVersion ? { proxyProtocolVersion: opts.proxyProtocolVersion } : {}),
      ...(opts.limiter ? { limiter: opts.limiter } : {}),
    });
  }

  get tunnelCount(): number {
    return this.tunnels.size;
  }

  handleWorkConn(work: Duplex): void {
    void this.serveSession(work);
  }

  /** One hole-punching session, start to finish; a failure is logged and costs nothing else. */
  private async serveSession(work: Duplex): Promise<void> {
    const { link, logger: log, name } = this.opts;
    let endpoint: PunchEndpoint | undefined;
    let sid = '';
    try {
      sid = (await expectMessage(work, 'NatHoleSid', SID_TIMEOUT_MS)).sid ?? '';
      work.destroy();
      endpoint = await preparePunchEndpoint(link.stunServer, this.opts.disableAssistedAddrs, log);
      const resp = await link.exchange(
        {
          type: 'NatHoleClient',
          body: {
            transaction_id: newTransactionId(),
            proxy_name: this.opts.wireName,
            sid,
            mapped_addrs: endpoint.mappedAddrs,
            assisted_addrs: endpoint.assistedAddrs,
          },
        },
        EXCHANGE_TIMEOUT_MS,
      );
      if (resp.error) throw new BurrowError('BURROW_NAT_HOLE_FAILED', `the server refused: ${resp.error}`);
      if (resp.protocol !== XTCP_PROTOCOL) {
        link.report({ sid, success: false });
        throw new BurrowError(
          'BURROW_NAT_HOLE_FAILED',
          `the visitor wants "${resp.protocol ?? ''}" over the punched path (frp's QUIC or KCP), which burrow does not speak`,
        );
      }
      let peer: Awaited<ReturnType<typeof punchHole>>;
      try {
        peer = await punchHole({
          socket: endpoint.socket,
          key: deriveCipherKey(this.opts.secretKey),
          sid,
          transactionId: resp.transaction_id ?? '',
          candidates: [...(resp.candidate_addrs ?? []), ...(resp.assisted_addrs ?? [])],
          timeoutMs: resp.detect_behavior?.read_timeout || DEFAULT_PUNCH_MS,
        });
      } catch (err) {
        link.report({ sid, success: false });
        throw err;
      }
      link.report({ sid, success: true });
      const tunnel = await openTunnel({ socket: endpoint.socket, peer, initiator: false, secretKey: this.opts.secretKey, sid });
      endpoint = undefined; // the tunnel owns the socket now
      this.tunnels.add(tunnel);
      tunnel.once('close', () => this.tunnels.delete(tunnel));
      tunnel.on('stream', (stream: Duplex) => this.local.handleWorkConn(stream, { proxy_name: name } satisfies StartWorkConn));
      log.info('xtcp tunnel open', { proxy: name, peer: `${peer.ip}:${peer.port}`, sid });
    } catch (err) {
      work.destroy();
      endpoint?.socket.close();
      log.warn('xtcp session failed', { proxy: name, sid, code: err instanceof BurrowError ? err.code : undefined, reason: describeError(err) });
    }
  }

  close(): void {
    for (const t of this.tunnels) t.destroy();
    this.local.close();
  }
}

/** The owner's half of an xtcp proxy for one configured proxy. */
export function createXtcpOwnerProxy(p: ProxyConfig, ctx: ClientProxyContext): XtcpOwnerProxy {
  // The limiter and PROXY version as every stream type has them; the payload key is the secret key's.
  const { limiter, proxyProtocolVersion } = localServiceOf(p, ctx);
  return new XtcpOwnerProxy({
    name: p.name,
    wireName: ctx.wireName,
    localIP: p.localIP,
    localPort: p.localPort,
    secretKey: p.secretKey ?? '',
    useEncryption: p.transport.useEncryption,
    useCompression: p.transport.useCompression,
    disableAssistedAddrs: p.natTraversal?.disableAssistedAddrs === true,
    link: ctx.natHole,
    logger: ctx.logger,
    ...(p.plugin ? { plugin: createClientPlugin(p.plugin, { proxyName: p.name, logger: ctx.logger }) } : {}),
    ...(proxyProtocolVersion ? { proxyProtocolVersion } : {}),
    ...(limiter ? { limiter } : {}),
  });
}
