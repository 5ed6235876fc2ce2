import type { Duplex } from 'node:stream';
import type { Message, NatHoleReport, NatHoleResp } from '../protocol/messages.js';
import type { Logger } from '../util/logger.js';
import type { ConnectionObserver } from './shared/tcp-client.js';
import type { ClientVisitor } from './types.js';

/**
 * What the client halves know of the client: the few calls they need, not
 * the client itself, so src/proxy/ never imports src/client/.
 */

/** What both xtcp sides need from the client for the NatHole* exchange on its control. */
export interface NatHoleLink {
  /** `host:port` of the STUN server (frp's natHoleStunServer) */
  readonly stunServer: string;
  /** sends a NatHoleVisitor/NatHoleClient on the current control and waits for its NatHoleResp */
  exchange(msg: Message & { type: 'NatHoleVisitor' | 'NatHoleClient' }, timeoutMs: number): Promise<NatHoleResp>;
  report(msg: NatHoleReport): void;
}

/** What the client half of one configured proxy gets from the client. */
export interface ClientProxyContext {
  /** the key of per-proxy encryption toward the server (from the token) */
  cipherKey: Buffer;
  logger: Logger;
  /** the proxy's name on the wire (user-prefixed) */
  wireName: string;
  /** frp's `udpPacketSize`: udp/sudp datagrams toward a peer not known to be burrow are cut to it */
  udpPacketSize: number;
  natHole: NatHoleLink;
  /** watches the connections of an inspected http proxy */
  observe?: ConnectionObserver;
}

/** What visitors need from the client: its current session, which changes on reconnect. */
export interface VisitorLink {
  /** our run id; empty while logged out */
  readonly runId: string;
  /** the user of this client, the default owner of the proxies we visit */
  readonly user: string;
  /** frp's `udpPacketSize`, as in ClientProxyContext */
  readonly udpPacketSize: number;
  /** a new logical connection to the server; rejects while logged out */
  openStream(): Promise<Duplex>;
  /** xtcp's NatHole* exchange on the control connection */
  readonly natHole: NatHoleLink;
}

/** What a visitor is created with. */
export interface VisitorContext {
  readonly link: VisitorLink;
  readonly log: Logger;
  /** another visitor of this client by name, looked up when needed (reloads replace them) */
  find(name: string): ClientVisitor | undefined;
}
