import { randomBytes } from 'node:crypto';
import type { ClientConfig, ProxyConfig } from '../config/types.js';
import { parseServerAddr } from '../config/server-addrs.js';
import type { Logger } from '../util/logger.js';

/** What the admin page and `status` show of each session. */
export interface SessionView {
  server: string;
  state: string;
  runId: string;
  reconnectAttempts: number;
  lastError: string;
}

/** The part of a client an extra session is: its own reconnect state machine (a BurrowClient of one address). */
export interface SessionClient {
  readonly config: ClientConfig;
  readonly state: string;
  readonly currentRunId: string;
  readonly reconnectAttempts: number;
  readonly lastError: string;
  start(): Promise<void>;
  stop(): void;
  reload(next: ClientConfig): unknown;
}

/**
 * `serverAddrs` (docs/cluster.md): the config of the first session, which
 * the client runs itself, the configs of the others, and the secret id they
 * all send at login (Login's burrow_session_group) so the nodes hold their
 * proxies as one group. Without serverAddrs: the config as it is, no others.
 */
export function planSessions(config: ClientConfig, inherited = ''): { first: ClientConfig; more: ClientConfig[]; group: string } {
  const addrs = config.serverAddrs.map((a) => parseServerAddr(a)).filter((a) => a !== undefined);
  if (addrs.length === 0) return { first: config, more: [], group: inherited };
  const at = (a: { host: string; port: number }): ClientConfig => Object.freeze({ ...config, serverAddr: a.host, serverPort: a.port, serverAddrs: [] });
  // The others run what the first selected (file and store), with nothing of their own that binds or writes a file.
  const more = addrs.slice(1).map((a) => ({
    ...at(a),
    visitors: [],
    start: [],
    // A node down at start is retried like a lost one: the others serve meanwhile.
    loginFailExit: false,
    store: { ...config.store, path: '' },
    inspect: { ...config.inspect, store: '' },
  }));
  return { first: at(addrs[0]!), more, group: addrs.length > 1 ? randomBytes(16).toString('hex') : inherited };
}

/**
 * The sessions beyond the first: each a client of its own address, with
 * its own reconnect state machine and run id, registering the proxies the
 * first selected. Visitors run on the first session only (they bind local
 * ports); udp proxies too (a udp port is answered by the node holding it
 * only, so a second node would refuse it).
 */
export class ExtraSessions {
  private readonly clients: SessionClient[];

  constructor(
    private readonly configs: readonly ClientConfig[],
    proxies: readonly ProxyConfig[],
    make: (config: ClientConfig) => SessionClient,
    private readonly log: Logger,
  ) {
    this.clients = configs.map((c) => make(withProxies(c, proxies)));
  }

  get size(): number {
    return this.clients.length;
  }

  /** Each logs in on its own; a failure is retried by its own state machine and shown by `views`, never thrown. */
  start(): void {
    for (const c of this.clients) {
      c.start().catch((err: unknown) => this.log.warn('a session of serverAddrs stopped', { server: serverOf(c.config), reason: String(err) }));
    }
  }

  stop(): void {
    for (const c of this.clients) c.stop();
  }

  /** The proxies the first session now runs (a reload, a store change), on every other session too. */
  reload(proxies: readonly ProxyConfig[]): void {
    for (const [i, c] of this.clients.entries()) c.reload(withProxies(this.configs[i]!, proxies));
  }

  views(): SessionView[] {
    return this.clients.map((c) => viewOf(c));
  }
}

export function viewOf(c: SessionClient): SessionView {
  return { server: serverOf(c.config), state: c.state, runId: c.currentRunId, reconnectAttempts: c.reconnectAttempts, lastError: c.lastError };
}

function serverOf(c: ClientConfig): string {
  return c.serverAddr.includes(':') ? `[${c.serverAddr}]:${c.serverPort}` : `${c.serverAddr}:${c.serverPort}`;
}

function withProxies(config: ClientConfig, proxies: readonly ProxyConfig[]): ClientConfig {
  return Object.freeze({ ...config, proxies: proxies.filter((p) => p.type !== 'udp') });
}
