/**
 * The floor for any relay written on Node: a process that accepts on one port
 * per target and joins each connection to its target with `pipe()` both ways,
 * nothing else (no protocol, no mux, no TLS). bench/tcp chains two of them in
 * the tunnel's place (one where `burrow server` runs, one where `burrow
 * client` runs), so its figures show what two extra Node processes cost on
 * this machine before burrow adds anything.
 *
 * Plain JavaScript on purpose: run without a TypeScript loader, the process
 * keeps the small heap a minimal relay has (a loader's modules would change
 * its garbage collection and so its figures).
 *
 *   node bench/bare-relay.mjs <targetPort>[,<targetPort>...]
 *
 * Prints `bare relay ports=<p1>,<p2>...` (one listening port per target, in order).
 */
import { connect, createServer } from 'node:net';

/** @param {number} target */
function relayTo(target) {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (visitor) => {
    const upstream = connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    visitor.pipe(upstream);
    upstream.pipe(visitor);
    visitor.on('error', () => upstream.destroy());
    upstream.on('error', () => visitor.destroy());
    visitor.on('close', () => upstream.destroy());
    upstream.on('close', () => visitor.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const targets = (process.argv[2] ?? '').split(',').map(Number);
if (targets.length === 0 || targets.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
  console.error('usage: bare-relay <targetPort>[,<targetPort>...]');
  process.exit(2);
}
const servers = await Promise.all(targets.map(relayTo));
console.log(`bare relay ports=${servers.map((s) => s.address().port).join(',')}`);
