/**
 * The floor for any relay written on Node: a process that accepts on one port
 * per target and joins each connection to its target with `pipe()` both ways,
 * nothing else (no protocol, no mux). bench/tcp chains two of them in the
 * tunnel's place (one where `burrow server` runs, one where `burrow client`
 * runs), so its figures show what two extra Node processes cost on this
 * machine before burrow adds anything. With `--tls-listen` on the inner relay
 * and `--tls-dial` on the outer one, the hop between them is TLS (AES-128-GCM,
 * as burrow's server prefers): the floor for a tunnel with TLS.
 *
 * Plain JavaScript on purpose: run without a TypeScript loader, the process
 * keeps the small heap a minimal relay has (a loader's modules would change
 * its garbage collection and so its figures).
 *
 *   node bench/bare-relay.mjs [--tls-listen | --tls-dial] <targetPort>[,<targetPort>...]
 *
 * Prints `bare relay ports=<p1>,<p2>...` (one listening port per target, in order).
 */
import { connect, createServer } from 'node:net';
import tls from 'node:tls';

const args = process.argv.slice(2);
const tlsListen = args.includes('--tls-listen');
const tlsDial = args.includes('--tls-dial');
const targets = (args.find((a) => !a.startsWith('--')) ?? '').split(',').map(Number);
if (targets.length === 0 || targets.some((p) => !Number.isInteger(p) || p < 1 || p > 65535) || (tlsListen && tlsDial)) {
  console.error('usage: bare-relay [--tls-listen | --tls-dial] <targetPort>[,<targetPort>...]');
  process.exit(2);
}

/** The listening side's TLS settings: burrow's own throw-away certificate (built in dist/). */
async function listenTls() {
  const { generateSelfSignedCertificate } = await import('../dist/transport/self-signed-cert.js');
  return { ...generateSelfSignedCertificate(), ciphers: 'TLS_AES_128_GCM_SHA256', allowHalfOpen: true };
}

/** @param {import('node:net').Socket} a @param {import('node:net').Socket} b */
function join(a, b) {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

/** @param {number} target @param {object | undefined} secure */
function relayTo(target, secure) {
  const dial = () =>
    tlsDial
      ? tls.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true, rejectUnauthorized: false })
      : connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
  const onVisitor = (visitor) => {
    visitor.setNoDelay(true);
    join(visitor, dial());
  };
  const server = secure ? tls.createServer(secure, onVisitor) : createServer({ allowHalfOpen: true, noDelay: true }, onVisitor);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const secure = tlsListen ? await listenTls() : undefined;
const servers = await Promise.all(targets.map((t) => relayTo(t, secure)));
console.log(`bare relay ports=${servers.map((s) => s.address().port).join(',')}`);
