import { readFileSync } from 'node:fs';
import type { UserAccountConfig } from '../../config/types.js';
import { BurrowError, describeError } from '../../util/errors.js';
import { Account } from './account.js';

/**
 * The server's accounts by name, built from `[[users]]` at start and again
 * on each reload. Building reads every tokenFile first, so a reload with an
 * unreadable one fails whole and the running table stays.
 */
export class UserTable {
  private readonly byName = new Map<string, Account>();

  /** `previous`: an account whose entry did not change is carried over, with its live counts and bandwidth bucket. */
  constructor(users: readonly UserAccountConfig[], previous?: UserTable) {
    users.forEach((u, i) => {
      const token = u.tokenFile === '' ? u.token : readTokenFile(u.tokenFile, `users[${i}].tokenFile`);
      const fresh = new Account(u, token);
      const kept = previous?.get(u.name);
      this.byName.set(u.name, kept && kept.signature === fresh.signature ? kept : fresh);
    });
  }

  get size(): number {
    return this.byName.size;
  }

  get(name: string): Account | undefined {
    return this.byName.get(name);
  }

  values(): IterableIterator<Account> {
    return this.byName.values();
  }

  /** Names whose account in `next` is not the very one here: removed or changed. */
  revokedBy(next: UserTable): string[] {
    return [...this.byName.keys()].filter((name) => next.get(name) !== this.byName.get(name));
  }
}

function readTokenFile(file: string, key: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BurrowError('BURROW_CONFIG_INVALID', `${key}: cannot read "${file}": ${describeError(err)}`);
  }
  if (token === '') throw new BurrowError('BURROW_CONFIG_INVALID', `${key}: "${file}" is empty`);
  return token;
}
