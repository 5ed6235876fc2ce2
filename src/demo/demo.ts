import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { startClientAdmin } from '../admin/client-api.js';
import { startServerDashboard } from '../admin/server-api.js';
import { BurrowClient } from '../client/client.js';
import { buildClientConfig, buildServerConfig } from '../config/load.js';
import { BurrowServer } from '../server/server.js';
import type { Logger } from '../util/logger.js';

export interface Demo {
  readonly server: BurrowServer;
  readonly client: BurrowClient;
  readonly service: Server;
  /** the public address a visitor uses through the tcp tunnel */
  readonly url: string;
  /** the same service through the HTTP vhost, by name */
  readonly httpUrl: string;
  /** the server's dashboard page */
  readonly dashboardUrl: string;
  /** the client's admin page */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** A tiny local service: it says hello and echoes what it is sent, so a curl shows the round trip. */
function startLocalService(): Promise<Server> {
  const service = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(body.length > 0 ? body : `hello from the local service behind burrow (${req.method} ${req.url})\n`);
    });
  });
  return new Promise((resolve) => service.listen(0, '127.0.0.1', () => resolve(service)));
}

/** The HTTP vhost port is "0 = off" in frp's config, so the demo asks the OS for a free one first. */
async function freePort(): Promise<number> {
  const probe = createNetServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function get(url: string, host?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, host ? { headers: { host } } : {}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('demo check timed out')));
    req.end();
  });
}

/**
 * The embedded default: a server, a client and a local service in one process
 * on loopback, joined by a tcp tunnel (TLS and yamux on, as frp's defaults),
 * checked end to end before it is handed to the user.
 */
export async function startDemo(log: Logger): Promise<Demo> {
  const token = 'burrow-demo';
  const service = await startLocalService();
  const servicePort = (service.address() as AddressInfo).port;
  const server = new BurrowServer(
    buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0, auth: { token }, vhostHTTPPort: await freePort(), subDomainHost: 'localhost' }, 'demo server'),
    log.child({ side: 'server' }),
  );
  await server.start();
  // Both pages on loopback only, so no password is needed (and none is printed).
  const dashboard = await startServerDashboard({
    server,
    addr: '127.0.0.1',
    port: 0,
    user: '',
    password: '',
    enablePrometheus: true,
    logger: log.child({ side: 'dashboard' }),
  });
  const client = new BurrowClient(
    buildClientConfig(
      {
        serverAddr: '127.0.0.1',
        serverPort: server.port,
        auth: { token },
        proxies: [
          { name: 'demo-web', type: 'tcp', localIP: '127.0.0.1', localPort: servicePort, remotePort: 0 },
          // *.localhost resolves to loopback in browsers and curl: a name-based tunnel with no DNS setup.
          { name: 'demo-http', type: 'http', localIP: '127.0.0.1', localPort: servicePort, subdomain: 'demo', inspect: true },
        ],
      },
      'demo client',
    ),
    log.child({ side: 'client' }),
  );
  const admin = await startClientAdmin({
    client,
    addr: '127.0.0.1',
    port: 0,
    user: '',
    password: '',
    logger: log.child({ side: 'admin' }),
    stop: () => client.stop(),
  });
  const stop = async (): Promise<void> => {
    client.stop();
    await admin.close();
    await dashboard.close();
    await server.stop();
    await new Promise<void>((resolve) => service.close(() => resolve()));
  };
  try {
    await client.start();
    const status = await client.waitForProxy('demo-web');
    const url = `http://127.0.0.1${status.remoteAddr}/`;
    const answer = await get(url);
    if (!answer.startsWith('hello from the local service')) throw new Error(`unexpected answer through the tunnel: ${answer}`);
    await client.waitForProxy('demo-http');
    const httpUrl = `http://demo.localhost:${server.vhostHttpPort}/`;
    const viaVhost = await get(`http://127.0.0.1:${server.vhostHttpPort}/`, `demo.localhost:${server.vhostHttpPort}`);
    if (!viaVhost.startsWith('hello from the local service')) throw new Error(`unexpected answer through the http vhost: ${viaVhost}`);
    const dashboardUrl = `http://127.0.0.1:${dashboard.port}/`;
    const adminUrl = `http://127.0.0.1:${admin.port}/`;
    return { server, client, service, url, httpUrl, dashboardUrl, adminUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
