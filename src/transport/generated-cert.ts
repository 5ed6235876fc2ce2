/**
 * The server's own certificate when none is configured, kept in a directory so
 * it survives restarts: a client that pinned its fingerprint
 * (transport.tls.serverFingerprint) keeps connecting.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BurrowError, describeError } from '../util/errors.js';
import { generateSelfSignedCertificate, type GeneratedCertificate } from './self-signed-cert.js';

export const GENERATED_CERT_FILE = 'burrow-server-cert.pem';
export const GENERATED_KEY_FILE = 'burrow-server-key.pem';

/** `sha256:AB:CD:…` of a certificate (PEM or DER): the form transport.tls.serverFingerprint takes. */
export function certificateFingerprint(cert: string | Buffer | X509Certificate): string {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return `sha256:${x509.fingerprint256}`;
}

/** A fingerprint as compared: lower-case hex without separators or the `sha256:` prefix. */
export function normalizeFingerprint(fp: string): string {
  return fp
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toLowerCase();
}

export interface ServerCertificate extends GeneratedCertificate {
  fingerprint: string;
  /** where it came from, for the start log */
  source: 'generated, in memory only' | 'generated and saved' | 'loaded';
  /** the certificate file, when it is on disk */
  file?: string;
}

function readPair(certFile: string, keyFile: string): GeneratedCertificate {
  try {
    const cert = readFileSync(certFile, 'utf8');
    const key = readFileSync(keyFile, 'utf8');
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
    return { cert, key };
  } catch (err) {
    throw new BurrowError(
      'BURROW_CONFIG_INVALID',
      `transport.tls.generatedCertDir: ${certFile} and ${keyFile} cannot be used (${describeError(err)}); remove both to make a new certificate (clients that pinned the old fingerprint must then be updated)`,
      { cause: err },
    );
  }
}

/**
 * The generated certificate: in memory when `dir` is '' (the library API and
 * tests never write files unasked), else loaded from `dir`, or made and saved
 * there readable by the owner only.
 */
export function loadOrCreateServerCertificate(dir: string): ServerCertificate {
  if (dir === '') {
    const made = generateSelfSignedCertificate({ commonName: 'burrow' });
    return { ...made, fingerprint: certificateFingerprint(made.cert), source: 'generated, in memory only' };
  }
  const certFile = join(dir, GENERATED_CERT_FILE);
  const keyFile = join(dir, GENERATED_KEY_FILE);
  // One file alone may be another server saving its pair this instant: waited for, briefly.
  if (existsSync(keyFile) || existsSync(certFile)) return loadRaced(certFile, keyFile);
  try {
    return saveCertificate(dir, keyFile, certFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new BurrowError('BURROW_CONFIG_INVALID', `transport.tls.generatedCertDir: cannot save the generated certificate in ${dir}: ${describeError(err)}`, {
        cause: err,
      });
    }
    // Another server started from the same folder at the same moment saved its pair first: use that one once it is whole.
    return loadRaced(certFile, keyFile);
  }
}

/** How long a server that lost the race to save the certificate waits for the winner's second file. */
const SAVE_RACE_WAIT_MS = 2000;

function saveCertificate(dir: string, keyFile: string, certFile: string): ServerCertificate {
  const made = generateSelfSignedCertificate({ commonName: 'burrow' });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The key first, created exclusively: of two servers saving at once one wins, and a crash in between leaves a lone key, which loadSaved reports.
  writeFileSync(keyFile, made.key, { mode: 0o600, flag: 'wx' });
  writeFileSync(certFile, made.cert, { mode: 0o600, flag: 'wx' });
  return { ...made, fingerprint: certificateFingerprint(made.cert), source: 'generated and saved', file: certFile };
}

/** Start-up only: the winner's pair, waited for synchronously (it writes the certificate just after the key); its error after SAVE_RACE_WAIT_MS. */
function loadRaced(certFile: string, keyFile: string): ServerCertificate {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < SAVE_RACE_WAIT_MS; waited += 25) {
    try {
      return loadSaved(certFile, keyFile);
    } catch {
      Atomics.wait(pause, 0, 0, 25);
    }
  }
  return loadSaved(certFile, keyFile);
}

function loadSaved(certFile: string, keyFile: string): ServerCertificate {
  const haveCert = existsSync(certFile);
  if (haveCert || existsSync(keyFile)) {
    if (!haveCert || !existsSync(keyFile)) {
      throw new BurrowError(
        'BURROW_CONFIG_INVALID',
        `transport.tls.generatedCertDir: only one of ${certFile} and ${keyFile} exists; restore the other or remove both`,
      );
    }
    const pair = readPair(certFile, keyFile);
    // An owner-only key file stays so; a wider one is narrowed, as it was written.
    if ((statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
    return { ...pair, fingerprint: certificateFingerprint(pair.cert), source: 'loaded', file: certFile };
  }
  throw new BurrowError('BURROW_CONFIG_INVALID', `transport.tls.generatedCertDir: neither ${certFile} nor ${keyFile} exists`);
}
