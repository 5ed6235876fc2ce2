import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { ServerConfig } from '../config/types.js';
import { BurrowError, describeError } from '../util/errors.js';

type GatewaySettings = ServerConfig['sshTunnelGateway'];

/** A host key file larger than this is not a key. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The host key and where it came from, for the start-up log line. */
export interface HostKey {
  key: Buffer;
  source: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it, so a user can check what ssh shows on first connect */
  fingerprint: string;
}

/**
 * The gateway's host key, as frp picks it: `privateKeyFile` when set; else
 * the key kept at `autoGenPrivateKeyPath`; else a new one, written there
 * (0600) so the fingerprint users accepted survives a restart. frp generates
 * RSA-2048 in PEM; burrow generates Ed25519 in OpenSSH's format (instant, and
 * frps reads it too). Either reads the other's file.
 */
export function loadOrCreateHostKey(settings: GatewaySettings): HostKey {
  if (settings.privateKeyFile !== '') return parsed(readKey(settings.privateKeyFile, 'sshTunnelGateway.privateKeyFile'), settings.privateKeyFile);
  const path = settings.autoGenPrivateKeyPath;
  const kept = path === '' ? undefined : readKey(path, 'sshTunnelGateway.autoGenPrivateKeyPath', true);
  if (kept !== undefined && kept.length > 0) return parsed(kept, path);
  const fresh = generateEd25519();
  if (path === '') return parsed(fresh, 'generated (not kept)');
  try {
    // An empty file is replaced, as frp does; `wx` never follows a link planted at the path.
    if (kept !== undefined) unlinkSync(path);
    writeFileSync(path, fresh, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new BurrowError(
      'BURROW_CONFIG_INVALID',
      `sshTunnelGateway.autoGenPrivateKeyPath: cannot keep the generated host key at ${path}: ${describeError(err)}`,
    );
  }
  return parsed(fresh, `${path} (generated)`);
}

/**
 * A new Ed25519 key in OpenSSH's format. ssh2's generator drops leading zero
 * bytes of the public key (about one key in 256 comes out malformed, and
 * its own parser refuses it), so a key that does not parse back is made again.
 */
function generateEd25519(): Buffer {
  for (let attempt = 0; attempt < 16; attempt++) {
    const key = Buffer.from(ssh2.utils.generateKeyPairSync('ed25519').private);
    if (!(ssh2.utils.parseKey(key) instanceof Error)) return key;
  }
  throw new BurrowError('BURROW_CONFIG_INVALID', 'sshTunnelGateway: could not generate a host key');
}

function readKey(path: string, key: string): Buffer;
function readKey(path: string, key: string, missingOk: true): Buffer | undefined;
function readKey(path: string, key: string, missingOk = false): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BurrowError('BURROW_CONFIG_INVALID', `${key}: cannot read ${path}: ${describeError(err)}`);
  }
  if (data.length > MAX_KEY_FILE_BYTES) throw new BurrowError('BURROW_CONFIG_INVALID', `${key}: ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`);
  return data;
}

function parsed(key: Buffer, source: string): HostKey {
  const result = ssh2.utils.parseKey(key);
  const first = Array.isArray(result) ? result[0] : result;
  if (first instanceof Error || first === undefined || !first.isPrivateKey()) {
    const why = first instanceof Error ? first.message : 'not a private key';
    throw new BurrowError('BURROW_CONFIG_INVALID', `sshTunnelGateway: the host key in ${source} cannot be used: ${why}`);
  }
  const digest = createHashBase64(first.getPublicSSH());
  return { key, source, fingerprint: `SHA256:${digest}` };
}

function createHashBase64(blob: Buffer): string {
  return createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
