/**
 * The services the tcp benchmark reaches, in a process of their own, as a
 * real local service would be: an echo (latency, connections/s, idle memory)
 * and a sink that counts bytes and answers the total as 8 bytes when the
 * sender half-closes (throughput). The direct path is then generator →
 * service across one process boundary each way, the way a visitor reaches a
 * service without a tunnel; with the service inside the generator's process
 * a round trip would never wake another process, which no tunnel can match.
 *
 * Plain JavaScript for the same reason as bare-relay.mjs: no loader, a small heap.
 *
 *   node bench/services.mjs
 *
 * Prints `services echo=<port> sink=<port>`.
 */
import { createServer } from 'node:net';

const echo = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.on('error', () => {});
  s.pipe(s);
});

const sink = createServer({ allowHalfOpen: true }, (s) => {
  let n = 0;
  s.on('error', () => {});
  s.on('data', (c) => (n += c.length));
  s.on('end', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    s.end(b);
  });
});

/** @param {import('node:net').Server} server */
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

const [echoPort, sinkPort] = await Promise.all([listen(echo), listen(sink)]);
console.log(`services echo=${echoPort} sink=${sinkPort}`);
