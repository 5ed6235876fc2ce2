import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BurrowError } from '../util/errors.js';

/** A certificate as kept on disk: the chain (leaf first) and its private key, both PEM. */
export interface StoredCertificate {
  chain: string;
  key: string;
}

/** Bound on one file read back from storage (a chain is a few KiB). */
const MAX_FILE_BYTES = 256 * 1024;

/**
 * The ACME folder (`acme.storage`): the account key of each directory URL
 * and one certificate with its key per name. Files are 0600 in a 0700
 * folder and written whole or not at all (a temporary file renamed over the
 * old one), so a crash mid-write never leaves a truncated key behind.
 *
 * Layout: `account-<hash of the directory URL>.key`, `certs/<name>.crt`,
 * `certs/<name>.key`.
 */
export class AcmeStorage {
  constructor(private readonly dir: string) {}

  /** The account key for `directoryUrl`, or undefined when none was saved. */
  accountKey(directoryUrl: string): string | undefined {
    return this.read(this.accountFile(directoryUrl));
  }

  /** Returns `pem`, the key now in force (as the cluster's store does, where another node's may win). */
  saveAccountKey(directoryUrl: string, pem: string): string {
    this.write(this.accountFile(directoryUrl), pem);
    return pem;
  }

  certificate(name: string): StoredCertificate | undefined {
    const chain = this.read(this.certFile(name, 'crt'));
    const key = this.read(this.certFile(name, 'key'));
    return chain && key ? { chain, key } : undefined;
  }

  /** The key goes first: a chain without its key is never read back (both are needed), a key alone is overwritten next time. */
  saveCertificate(name: string, cert: StoredCertificate): void {
    this.write(this.certFile(name, 'key'), cert.key);
    this.write(this.certFile(name, 'crt'), cert.chain);
  }

  private accountFile(directoryUrl: string): string {
    return join(this.dir, `account-${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.key`);
  }

  private certFile(name: string, ext: 'crt' | 'key'): string {
    // Names come from acme.domains' matcher; this keeps a path out of the folder whatever the caller.
    if (!/^[a-z0-9.-]+$/.test(name) || name.includes('..'))
      throw new BurrowError('BURROW_ACME_FAILED', `"${name}" is not a name a certificate can be stored for`);
    return join(this.dir, 'certs', `${name}.${ext}`);
  }

  private read(file: string): string | undefined {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BurrowError('BURROW_ACME_FAILED', `cannot read ${file}: ${(err as Error).message}`);
    }
    if (data.length > MAX_FILE_BYTES) throw new BurrowError('BURROW_ACME_FAILED', `${file} is larger than ${MAX_FILE_BYTES} bytes`);
    return data.toString('utf8');
  }

  private write(file: string, text: string): void {
    const folder = join(file, '..');
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    // mkdir's mode is cut by the umask and does not apply to a folder that already existed.
    chmodSync(this.dir, 0o700);
    chmodSync(folder, 0o700);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new BurrowError('BURROW_ACME_FAILED', `cannot write ${file}: ${(err as Error).message}`);
    }
  }
}
