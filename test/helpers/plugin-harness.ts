/**
 * Feeds a client plugin real TCP connections on 127.0.0.1: each accepted
 * socket stands for a work connection. `plainDuplex` wraps it in a Duplex
 * that is not a net.Socket (no setTimeout, no addresses), as a yamux stream is.
 */
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import { Duplex } from 'node:stream';
import type { ClientPlugin, ConnectionInfo, PluginContext } from '../../src/plugin/types.js';
import { createLogger, type Logger } from '../../src/util/logger.js';

export interface PluginHarness {
  port: number;
  close(): Promise<void>;
}

export function asPlainDuplex(sock: net.Socket): Duplex {
  const d = new Duplex({
    read() {
      sock.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      sock.write(chunk, cb);
    },
    final(cb) {
      sock.end();
      cb();
    },
    destroy(err, cb) {
      sock.destroy();
      cb(err);
    },
  });
  sock.on('data', (c: Buffer) => {
    if (!d.push(c)) sock.pause();
  });
  sock.on('end', () => d.push(null));
  sock.on('close', () => d.destroy());
  sock.on('error', () => d.destroy());
  return d;
}

export async function servePlugin(plugin: ClientPlugin, info: ConnectionInfo = {}, plainDuplex = false): Promise<PluginHarness> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    plugin.handle(plainDuplex ? asPlainDuplex(sock) : sock, info);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    async close() {
      await plugin.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A context whose log lines are kept for assertions (e.g. that no secret was logged). */
export function testContext(): { context: PluginContext; lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  return { context: { proxyName: 'p1', logger }, lines, logger };
}

/** Sends raw bytes, reads until the peer closes or `ms` pass; returns what arrived. */
export function rawExchange(port: number, bytes: string | Buffer, ms = 5000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, ms);
    sock.on('data', (c: Buffer) => chunks.push(c));
    // A reset is how a plugin that refuses unread bytes closes: it counts as a close.
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.write(bytes);
  });
}

export function listenHttp(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** One HTTPS GET with verification off (the plugins' certificates are self-signed). */
export function httpsGet(
  port: number,
  headers: http.OutgoingHttpHeaders,
  servername = 'example.com',
): Promise<{ status: number; body: string; cert: tls.PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/x', headers, servername, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert: (res.socket as tls.TLSSocket).getPeerCertificate() }));
    });
    req.on('error', reject);
    req.end();
  });
}
