import { readFileSync, statSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

/** An authorized_keys file larger than this is refused (it is read on every change). */
const MAX_FILE_BYTES = 1024 * 1024;

export interface AuthorizedKey {
  /** the key's comment: the user its proxies belong to, as in frp ("" = the --user flag) */
  user: string;
  key: ParsedKey;
}

/**
 * `sshTunnelGateway.authorizedKeysFile`, in OpenSSH's format. As frp, the file
 * is consulted at each login, so keys added or removed apply without a
 * restart; it is parsed again only when its size or modification time
 * changed. A line that cannot be read is skipped with a warning (frp refuses
 * every login while the file has one).
 */
export class AuthorizedKeys {
  private stamp = '';
  private keys = new Map<string, AuthorizedKey>();

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Throws BURROW_CONFIG_INVALID when the file cannot be read at all. */
  find(publicKeyBlob: Buffer): AuthorizedKey | undefined {
    this.refresh();
    return this.keys.get(publicKeyBlob.toString('base64'));
  }

  private refresh(): void {
    let text: string;
    try {
      const st = statSync(this.path);
      const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (stamp === this.stamp) return;
      if (st.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
      text = readFileSync(this.path, 'utf8');
      this.stamp = stamp;
    } catch (err) {
      this.stamp = '';
      this.keys.clear();
      throw new BurrowError('BURROW_CONFIG_INVALID', `sshTunnelGateway.authorizedKeysFile: cannot read ${this.path}: ${describeError(err)}`);
    }
    this.keys = parseAuthorizedKeys(text, (line, why) => this.log.warn('authorized keys: line skipped', { file: this.path, line, reason: why }));
  }
}

/** Key type names OpenSSH writes; options before the key (`from="…" ssh-ed25519 …`) are skipped over. */
const KEY_TYPE = /^(ssh-|ecdsa-sha2-|sk-)/;

export function parseAuthorizedKeys(text: string, skipped: (line: number, why: string) => void): Map<string, AuthorizedKey> {
  const keys = new Map<string, AuthorizedKey>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const tokens = line.split(/\s+/);
    const at = tokens.findIndex((t, i) => KEY_TYPE.test(t) && tokens[i + 1] !== undefined);
    if (at < 0) {
      skipped(index + 1, 'no key type followed by a key');
      continue;
    }
    const type = tokens[at] as string;
    const data = tokens[at + 1] as string;
    const result = ssh2.utils.parseKey(`${type} ${data}`);
    const key = Array.isArray(result) ? result[0] : result;
    if (key === undefined || key instanceof Error) {
      skipped(index + 1, key instanceof Error ? key.message : 'not a public key');
      continue;
    }
    const user = line.slice(line.indexOf(data) + data.length).trim();
    keys.set(key.getPublicSSH().toString('base64'), { user, key });
  }
  return keys;
}
