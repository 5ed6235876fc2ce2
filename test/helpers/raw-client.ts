import type { Duplex } from 'node:stream';
import { ControlChannel } from '../../src/control/control-channel.js';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { deriveCipherKey } from '../../src/protocol/crypto.js';
import type { Message, NewProxy, StartWorkConn } from '../../src/protocol/messages.js';
import { dialLogical, type LogicalDialer } from './recorded-peer.js';
import { queue } from './streams.js';
import { TOKEN } from './tunnel.js';
import { withTimeout } from '../../src/util/timeout.js';

/**
 * A hand-driven client for tests that must send what a correct client never
 * would: it logs in, then each step (NewProxy, a work connection, a raw
 * logical connection) is done explicitly by the test.
 */
export interface RawClient {
  runId: string;
  dialer: LogicalDialer;
  send(msg: Message): void;
  /** the next control message from the server other than ReqWorkConn */
  next(timeoutMs?: number): Promise<Message>;
  /** registers a proxy and returns the server's answer */
  newProxy(msg: NewProxy): Promise<Message>;
  /** answers the next ReqWorkConn and waits for StartWorkConn on that connection */
  serveWorkConn(timeoutMs?: number): Promise<{ stream: Duplex; start: StartWorkConn }>;
  close(): void;
}

export interface RawLoginOptions {
  tcpMux?: boolean;
  user?: string;
  token?: string;
  /** the signed Unix time; default now */
  timestamp?: number;
  /** ask for this run id (a re-login) */
  runId?: string;
  /** Login `client_id` (frpc's clientID) */
  clientId?: string;
  /** Login `burrow_features` (burrow's own key): absent, as from a stock frpc, unless given */
  features?: string[];
  /** the Login's privilege_key as given (an OIDC access token); default md5(token + timestamp) */
  privilegeKey?: string;
}

export async function rawLogin(port: number, opts: RawLoginOptions = {}): Promise<RawClient> {
  const token = opts.token ?? TOKEN;
  const dialer = await dialLogical(port, opts.tcpMux ?? true);
  const stream = await dialer.open();
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  await writeMessage(stream, {
    type: 'Login',
    body: {
      version: '0.70.1',
      user: opts.user,
      privilege_key: opts.privilegeKey ?? tokenDigest(token, timestamp),
      timestamp,
      pool_count: 0,
      ...(opts.runId ? { run_id: opts.runId } : {}),
      ...(opts.clientId ? { client_id: opts.clientId } : {}),
      ...(opts.features ? { burrow_features: opts.features } : {}),
    },
  });
  const resp = await expectMessage(stream, 'LoginResp', 5000);
  if (resp.error) {
    dialer.close();
    throw new Error(`login refused: ${resp.error}`);
  }
  const control = new ControlChannel(stream, deriveCipherKey(token));
  // ReqWorkConn may come before the NewProxyResp it belongs to: kept apart so neither wait eats the other.
  const messages = queue<Message>();
  const requests = queue<Message>();
  control.on('message', (m: Message) => (m.type === 'ReqWorkConn' ? requests : messages).push(m));
  const next = (timeoutMs = 5000): Promise<Message> => withTimeout(messages.next(), timeoutMs, 'a control message');
  return {
    runId: resp.run_id ?? '',
    dialer,
    send: (msg) => void control.send(msg),
    next,
    async newProxy(msg) {
      control.send({ type: 'NewProxy', body: msg });
      for (;;) {
        const m = await next();
        if (m.type === 'NewProxyResp') return m;
      }
    },
    async serveWorkConn(timeoutMs = 5000) {
      await withTimeout(requests.next(), timeoutMs, 'ReqWorkConn');
      const work = await dialer.open();
      await writeMessage(work, { type: 'NewWorkConn', body: { run_id: resp.run_id } });
      const start = await expectMessage(work, 'StartWorkConn', timeoutMs);
      return { stream: work, start };
    },
    close() {
      control.close();
      dialer.close();
    },
  };
}
