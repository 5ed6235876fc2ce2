import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:https';
import { generateCertificate } from '../../src/transport/self-signed-cert.js';
import { freePort, waitFor } from './tunnel.js';

/** Where Debian's `pebble` package puts its two commands (.ci/run installs it). */
const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';

/** Why the pebble tests cannot run here, or undefined when they can; with BURROW_REQUIRE_PEBBLE set, a missing pebble is a failure. */
export function pebbleMissing(): string | undefined {
  if (existsSync(PEBBLE) && existsSync(CHALLTESTSRV)) return undefined;
  const why = `pebble and pebble-challtestsrv are not installed (${PEBBLE}, ${CHALLTESTSRV}; Debian package "pebble")`;
  if (process.env.BURROW_REQUIRE_PEBBLE) throw new Error(`${why}, and BURROW_REQUIRE_PEBBLE is set`);
  return why;
}

export interface Pebble {
  /** the ACME directory URL */
  directory: string;
  /** the file of the CA pebble's own HTTPS certificate is signed by (acme.trustedCaFile) */
  caFile: string;
  /** PEM of the root pebble signs certificates under (`/roots/0` on its management port) */
  root(): Promise<string>;
  stop(): void;
}

/** Resolves once something listens on 127.0.0.1:`port` (the child has bound it). */
async function listening(port: number, what: string): Promise<void> {
  let up = false;
  await waitFor(
    () => {
      if (!up) {
        const s = connect({ host: '127.0.0.1', port }, () => {
          up = true;
          s.destroy();
        });
        s.on('error', () => s.destroy());
      }
      return up;
    },
    `${what} listening on ${port}`,
    30_000,
  );
}

/**
 * pebble (an ACME test CA) and its mock DNS, which answers every A query
 * with 127.0.0.1 (and no AAAA, so the CA's checks dial 127.0.0.1 only).
 * pebble validates on fixed ports (`httpPort`, `tlsPort`): those are the
 * vhost ports under test, chosen before the server starts.
 */
export async function startPebble(vhost: {
  httpPort: number;
  tlsPort: number /** where the mock DNS sends every name (default 127.0.0.1) */;
  address?: string;
}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-pebble-'));
  const ca = generateCertificate({ commonName: 'pebble test ca', isCA: true });
  const leaf = generateCertificate({ commonName: '127.0.0.1', altNames: ['localhost'], issuer: ca });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  writeFileSync(join(dir, 'cert.pem'), leaf.cert);
  writeFileSync(join(dir, 'key.pem'), leaf.key);
  // The children choose no ports of their own: each is handed one the OS just picked and freed (the
  // accepted exception to "listen on 0": these programs take fixed numbers only).
  const [dnsPort, challMgmt, acmePort, mgmtPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: vhost.httpPort,
        tlsPort: vhost.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [];
  const run = (cmd: string, args: string[], env: Record<string, string> = {}): void => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => out.push(c.toString()));
    child.on('exit', (code) => {
      if (process.env.BURROW_TEST_LOG) process.stderr.write(`${cmd} exited ${code}:\n${out.join('')}\n`);
    });
    children.push(child);
  };
  run(CHALLTESTSRV, [
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-defaultIPv6',
    '',
    '-defaultIPv4',
    vhost.address ?? '127.0.0.1',
    '-dns01',
    `127.0.0.1:${dnsPort}`,
    '-management',
    `127.0.0.1:${challMgmt}`,
  ]);
  await listening(challMgmt, 'pebble-challtestsrv');
  run(PEBBLE, ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_VA_ALWAYS_VALID: '0',
    // Deterministic: no rejected nonces, and every order proves its challenge again.
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  await listening(acmePort, 'pebble');
  await listening(mgmtPort, 'pebble management');
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile,
    root: () =>
      new Promise((resolve, reject) => {
        get(`https://127.0.0.1:${mgmtPort}/roots/0`, { ca: ca.cert }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString()));
          res.on('error', reject);
        }).on('error', reject);
      }),
    stop() {
      for (const c of children) c.kill();
    },
  };
}
