import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { checkUserEntry } from '../../config/checks.js';
import { canonicalKeys } from '../../config/key-case.js';
import { ConfigError } from '../../config/load.js';
import { formatProblem, isPlainObject, validate } from '../../config/schema-engine.js';
import { userAccount } from '../../config/server-schema.js';
import type { UserAccountConfig } from '../../config/types.js';
import { readUsersFile, usersFileText, writeUsersFile } from '../../config/users-file.js';
import { BurrowError } from '../../util/errors.js';

/** The keys the dashboard may change on an account; the name is its identity and the token changes only by rotation. */
export const EDITABLE_KEYS = [
  'allowPorts',
  'allowDomains',
  'maxProxies',
  'maxConnections',
  'bandwidthLimit',
  'trafficQuota',
  'quotaResetDay',
  'expires',
  'disabled',
] as const;

/** Random bytes in a generated token (base64url: 32 characters). */
const TOKEN_BYTES = 24;

/** Where the editor's accounts come from and go to: the server the dashboard belongs to. */
export interface UsersEditorHost {
  /**
   * Every account the server would list now, validated as at start: the
   * config's own `[[users]]` first, then the users file's, or `fileEntries`
   * in their place. Throws ConfigError naming each problem.
   */
  load(fileEntries?: readonly unknown[]): readonly UserAccountConfig[];
  /** what a reload does with them (sessions of changed or removed accounts closed); the names closed */
  apply(users: readonly UserAccountConfig[]): string[];
}

/** What a change did: the entry as saved (no token), the users whose clients were closed, and a new token when one was made. */
export interface UserChange {
  user: Omit<UserAccountConfig, 'token'>;
  closed: string[];
  /** shown once: never stored anywhere but the users file, never answered by a GET */
  token?: string;
}

/**
 * The dashboard's side of `usersFile`: create, change, disable, delete an
 * account, or rotate its token. Each change reads the file, checks the new
 * entry alone (errors named by key), then the whole set as SIGHUP would load
 * it (a name also in the server config is a duplicate), writes the file whole
 * and applies the set through the reload path. Only the users file is ever
 * written; accounts of the server config are read-only here. Every step is
 * synchronous, so two requests cannot interleave between read and write.
 */
export class UsersEditor {
  /** fileNames()'s last answer and the file's stamp when it was read */
  private names: ReadonlySet<string> = new Set();
  private namesStamp = '';

  constructor(
    /** absolute path of the users file */
    readonly file: string,
    private readonly globalToken: string,
    private readonly host: UsersEditorHost,
  ) {}

  /**
   * Names the users file lists now (empty when it cannot be read: the
   * accounts then show as read-only). The dashboard asks every second, so the
   * file is parsed again only when its size, time or inode changed.
   */
  fileNames(): ReadonlySet<string> {
    let stamp = '';
    try {
      const st = statSync(this.file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      // Missing or unreadable: read below says which, and the answer is empty.
    }
    if (stamp !== '' && stamp === this.namesStamp) return this.names;
    const read = readUsersFile(this.file);
    this.names = 'problem' in read ? new Set() : new Set(read.users.map((u) => (isPlainObject(u) && typeof u.name === 'string' ? u.name : '')));
    this.namesStamp = stamp;
    return this.names;
  }

  create(input: unknown): UserChange {
    const fields = this.fieldsOf(input, ['name', ...EDITABLE_KEYS]);
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    return this.change((entries, configNames) => {
      const name = typeof fields.name === 'string' ? fields.name : '';
      if (configNames.has(name)) throw conflict(`name: user "${name}" is defined in the server config; it can only be changed there`);
      if (entries.some((e) => e.name === name)) throw conflict(`name: user "${name}" already exists`);
      const entry = this.checked({ ...fields, token });
      return { entries: [...entries, entry], entry, token };
    });
  }

  /** Replaces the keys `input` names (EDITABLE_KEYS); the others keep their values. */
  update(name: string, input: unknown): UserChange {
    const fields = this.fieldsOf(input, EDITABLE_KEYS);
    return this.change((entries, configNames) => {
      const at = this.indexOf(entries, configNames, name);
      const entry = this.checked({ ...entries[at], ...fields });
      return { entries: entries.map((e, i) => (i === at ? entry : e)), entry };
    });
  }

  remove(name: string): UserChange {
    return this.change((entries, configNames) => {
      const at = this.indexOf(entries, configNames, name);
      return { entries: entries.filter((_, i) => i !== at), entry: entries[at]! };
    });
  }

  /** A new token for `name`; the old one stops working at once (its clients are closed). */
  rotate(name: string): UserChange {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    return this.change((entries, configNames) => {
      const at = this.indexOf(entries, configNames, name);
      if (entries[at]!.tokenFile !== '') throw conflict(`token: user "${name}" reads its token from tokenFile; change it in that file`);
      const entry = this.checked({ ...entries[at], token });
      return { entries: entries.map((e, i) => (i === at ? entry : e)), entry, token };
    });
  }

  /** Read, change, check the whole, write, apply: one change top to bottom. */
  private change(
    edit: (entries: UserAccountConfig[], configNames: ReadonlySet<string>) => { entries: UserAccountConfig[]; entry: UserAccountConfig; token?: string },
  ): UserChange {
    const read = readUsersFile(this.file);
    if ('problem' in read) throw invalid(`usersFile "${this.file}": ${read.problem}; fix the file by hand`);
    const entries = read.users.map((raw, i) => this.fileEntry(raw, i));
    // The config's own accounts come first in the merged list: those are the read-only ones.
    const all = this.host.load(read.users);
    const configNames = new Set(all.slice(0, all.length - entries.length).map((u) => u.name));
    const next = edit(entries, configNames);
    // As SIGHUP would load it: a problem across entries (a token equal to auth.token) stops the write.
    const users = this.host.load(next.entries);
    writeUsersFile(this.file, usersFileText(next.entries, read.header));
    const closed = this.host.apply(users);
    const { token: _secret, ...user } = next.entry;
    return { user, closed, ...(next.token ? { token: next.token } : {}) };
  }

  private indexOf(entries: readonly UserAccountConfig[], configNames: ReadonlySet<string>, name: string): number {
    const at = entries.findIndex((e) => e.name === name);
    if (at >= 0) return at;
    if (configNames.has(name)) throw conflict(`user "${name}" is defined in the server config; it can only be changed there`);
    throw new BurrowError('BURROW_STORE_NOT_FOUND', `no user "${name}" in the users file`);
  }

  /** The request body as the keys it may set; any other key is refused by name. */
  private fieldsOf(input: unknown, allowed: readonly string[]): Record<string, unknown> {
    if (!isPlainObject(input)) throw invalid('the body must be a JSON object of account keys, e.g. {"name": "alice", "maxProxies": 5}');
    for (const key of Object.keys(input)) {
      if (key === 'token' || key === 'tokenFile') throw invalid(`${key}: the token is generated by the server (create, or rotate the token)`);
      if (!allowed.includes(key)) {
        throw invalid(Object.hasOwn(userAccount.fields, key) ? `${key}: cannot be changed here` : `${key}: unknown key (one of ${allowed.join(', ')})`);
      }
    }
    return input;
  }

  /** One entry through the config's schema and checks; problems named by key (`maxProxies: …`). */
  private checked(raw: Record<string, unknown>): UserAccountConfig {
    const problems: string[] = [];
    const sink = (path: string, message: string): void => void problems.push(formatProblem(path, message));
    const entry = validate(userAccount, raw, '', sink);
    if (problems.length === 0) checkUserEntry(entry, this.globalToken, sink);
    if (problems.length > 0) throw new ConfigError(problems, 'user');
    return entry;
  }

  private fileEntry(raw: unknown, i: number): UserAccountConfig {
    const problems: string[] = [];
    const entry = validate(
      userAccount,
      canonicalKeys(userAccount, raw, '', () => undefined),
      '',
      (p, m) => problems.push(formatProblem(p, m)),
    );
    if (problems.length > 0) throw invalid(`usersFile "${this.file}": users[${i}]: ${problems.join('; ')}; fix the file by hand`);
    return entry;
  }
}

function invalid(message: string): BurrowError {
  return new BurrowError('BURROW_CONFIG_INVALID', message);
}

function conflict(message: string): BurrowError {
  return new BurrowError('BURROW_STORE_CONFLICT', message);
}
