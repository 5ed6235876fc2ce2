import type { Duplex } from 'node:stream';
import type { StartWorkConn } from '../protocol/messages.js';
import type { TrafficCounter } from '../relay/pipe.js';

/** The public half of a proxy, owned by one client's control session on the server. */
export interface ServerProxy {
  readonly name: string;
  readonly type: string;
  /** what NewProxyResp reports, e.g. ":6000" for tcp */
  readonly remoteAddr: string;
  /** ports counted against maxPortsPerClient */
  readonly portsUsed: number;
  readonly traffic: TrafficCounter;
  readonly activeConnections: number;
  close(): Promise<void>;
}

/** The private half of a proxy on the client: turns a started work connection into a relay. */
export interface ClientProxyHandler {
  handleWorkConn(work: Duplex, start: StartWorkConn): void;
  /** ends what the handler keeps beyond single work connections (udp streams, xtcp tunnels) */
  close?(): void;
}

export enum VisitorState {
  Idle = 'idle',
  Running = 'running',
  Failed = 'start error',
  Closed = 'closed',
}

/** The visiting side of a secret proxy (stcp, sudp, xtcp) on a client, as the client's visitor set drives it. */
export interface ClientVisitor {
  readonly name: string;
  readonly state: VisitorState;
  /** the bound local port, 0 without a listener */
  readonly port: number;
  start(): Promise<void>;
  close(): void;
}
