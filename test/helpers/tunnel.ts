import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { BurrowClient, type BurrowClientOptions } from '../../src/client/client.js';
import { BurrowServer } from '../../src/server/server.js';
import { createLogger, silentLogger, type Logger } from '../../src/util/logger.js';
import { TOKEN, clientConfig, serverConfig, tcpProxy, type RawClientConfig, type RawProxy, type RawServerConfig } from './config.js';

export { TOKEN, tcpProxy };

/** Set BURROW_TEST_LOG=debug to see what server and client do during a test. */
export function testLogger(side: string): Logger {
  const level = process.env.BURROW_TEST_LOG;
  return level ? createLogger({ level: level as 'debug' }).child({ side }) : silentLogger;
}

export interface CapturedLog {
  logger: Logger;
  readonly lines: readonly string[];
  /** resolves with the first line (already written or still to come) that matches */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** A logger that keeps its lines (JSON, debug level) so a test can assert what was logged. */
export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => lines.push(line) });
  return {
    logger,
    lines,
    async waitForLine(pattern, timeoutMs = 10_000) {
      let found: string | undefined;
      await waitFor(() => (found = lines.find((l) => pattern.test(l))) !== undefined, `a log line matching ${pattern}`, timeoutMs);
      return found!;
    },
  };
}

export interface EchoService {
  port: number;
  server: Server;
  readonly open: number;
  close(): Promise<void>;
}

/** A real TCP echo service on 127.0.0.1 with a port the OS picks; supports half-close. */
export async function startEcho(): Promise<EchoService> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function startServer(overrides: RawServerConfig = {}, logger: Logger = testLogger('server')): Promise<BurrowServer> {
  const server = new BurrowServer(serverConfig(overrides), logger);
  await server.start();
  return server;
}

export interface ClientOptions {
  proxies?: RawProxy[];
  tcpMux?: boolean;
  tls?: boolean;
  /** transport.protocol: tcp (default), websocket, wss */
  protocol?: string;
  token?: string;
  loginFailExit?: boolean;
  extra?: RawClientConfig;
  /** burrow's non-config client settings (e.g. a short proxy retry) */
  client?: BurrowClientOptions;
}

export function makeClient(serverPort: number, opts: ClientOptions = {}): BurrowClient {
  return new BurrowClient(
    clientConfig(serverPort, {
      auth: { token: opts.token ?? TOKEN },
      loginFailExit: opts.loginFailExit ?? true,
      proxies: opts.proxies ?? [],
      ...opts.extra,
      transport: {
        tcpMux: opts.tcpMux ?? true,
        protocol: (opts.protocol ?? 'tcp') as NonNullable<RawClientConfig['transport']>['protocol'],
        ...opts.extra?.transport,
        tls: { enable: opts.tls ?? true, ...opts.extra?.transport?.tls },
      },
    }),
    testLogger('client'),
    opts.client,
  );
}

export function portOf(remoteAddr: string): number {
  return Number(remoteAddr.slice(remoteAddr.lastIndexOf(':') + 1));
}

/** Sends `data` through a fresh connection, half-closes, and collects everything echoed back. */
export async function echoThrough(port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.end(data);
  await once(socket, 'end');
  socket.destroy();
  return Buffer.concat(chunks);
}

/**
 * Sends `data`, reads the same number of bytes back, and only then closes:
 * for links that cannot carry a half-close (a websocket without tcpMux).
 */
export async function echoExchange(port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= data.length) resolve();
    });
    socket.once('close', () => reject(new Error(`connection closed after ${got} of ${data.length} bytes`)));
  });
  socket.write(data);
  await done;
  socket.destroy();
  return Buffer.concat(chunks);
}

/** Waits until `cond` holds, checking every few ms; fails after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Deterministic pseudo-random bytes, so a failure can be reproduced. */
export function patternBytes(size: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** For frp's "0 = off" ports (vhost, admin): the OS picks a free port, which is then configured. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

/** Each test's cleanups, run last-in first-out when it ends, passed or failed. */
const cleanups = new WeakMap<TestContext, Array<() => unknown>>();

/** Runs `cleanup` when `t` ends, even when an assertion failed, so nothing keeps the file open until its timeout. */
export function whenDone(t: TestContext, cleanup: () => unknown): void {
  let list = cleanups.get(t);
  if (!list) {
    const created: Array<() => unknown> = [];
    cleanups.set(t, created);
    t.after(async () => {
      for (const c of created.reverse()) await c();
    });
    list = created;
  }
  list.push(cleanup);
}

/**
 * startEcho, startServer and makeClient for one test: everything they start
 * is stopped when the test ends (clients first, the echo service last).
 * Stopping it earlier in the test is fine; every stop is idempotent.
 */
export function tunnelKit(t: TestContext): {
  startEcho: typeof startEcho;
  startServer: typeof startServer;
  makeClient: typeof makeClient;
} {
  return {
    async startEcho() {
      const echo = await startEcho();
      whenDone(t, () => echo.close());
      return echo;
    },
    async startServer(overrides, logger) {
      const server = await startServer(overrides, logger);
      whenDone(t, () => server.stop());
      return server;
    },
    makeClient(serverPort, opts) {
      const client = makeClient(serverPort, opts);
      whenDone(t, () => client.stop());
      return client;
    },
  };
}
