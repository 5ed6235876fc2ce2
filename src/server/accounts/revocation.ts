import type { UserAccountConfig } from '../../config/types.js';
import type { ControlSession } from '../control-session.js';
import type { Accounts } from './accounts.js';

/**
 * A reload of `[[users]]` (SIGHUP): replaces the table, then closes at once
 * the clients of a removed or changed account, and those of a newly listed
 * name that logged in without that account (the global token, or the SSH
 * gateway's key), so its limits apply from their next login. Closing a client frees its ports and domains;
 * every other client stays. Returns the names whose clients were closed. A
 * tokenFile that cannot be read throws before anything changes.
 */
export function reloadAccounts(accounts: Accounts, clients: readonly ControlSession[], users: readonly UserAccountConfig[]): string[] {
  return reloadAccountsDetailed(accounts, clients, users).closed;
}

/** The same, also naming every account the reload removed or changed (with or without a client here): what a cluster tells its other nodes. */
export function reloadAccountsDetailed(
  accounts: Accounts,
  clients: readonly ControlSession[],
  users: readonly UserAccountConfig[],
): { closed: string[]; revoked: string[] } {
  const revoked = new Set(accounts.replace(users));
  const closed = new Set<string>();
  for (const c of clients) {
    // A client without an account whose name is now listed (the global token, or an SSH key naming it) must log in again as that account.
    const stale = c.account ? revoked.has(c.account.name) : accounts.find(c.user) !== undefined;
    if (!stale) continue;
    closed.add(c.user);
    c.close(`account of user [${c.user}] removed or changed by a reload`);
  }
  return { closed: [...closed], revoked: [...new Set([...revoked, ...closed])] };
}
