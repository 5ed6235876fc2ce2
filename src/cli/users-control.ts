import type { UsersReload } from '../admin/users-api.js';
import { loadServerConfig } from '../config/load.js';
import type { UserAccountConfig } from '../config/types.js';
import { reloadAccountsDetailed } from '../server/accounts/revocation.js';
import { UsersEditor } from '../server/accounts/users-editor.js';
import type { BurrowServer } from '../server/server.js';
import type { Logger } from '../util/logger.js';

/** How a server started from a config file re-reads its accounts (SIGHUP, the dashboard) and, with `usersFile`, edits them. */
export interface UsersControl {
  /** re-reads `[[users]]` from the config file and the users file; throws a readable error and changes nothing when they are bad */
  reload(): UsersReload;
  /** undefined without `usersFile`: the dashboard's write endpoints then say so */
  editor: UsersEditor | undefined;
}

export function usersControl(server: BurrowServer, configFile: string, allowUnsafe: readonly string[], log: Logger): UsersControl {
  const apply = (users: readonly UserAccountConfig[]): string[] => {
    const { closed, revoked } = reloadAccountsDetailed(server.accounts, server.clients, users);
    // The other nodes of a cluster re-read theirs and end the revoked users' sessions too.
    void server.shared?.usersReloaded(revoked);
    log.info('users reloaded', { users: users.length, closed: closed.join(',') || 'none' });
    return closed;
  };
  const load = (fileEntries?: readonly unknown[]): readonly UserAccountConfig[] =>
    loadServerConfig(configFile, { allowUnsafe, ...(fileEntries ? { usersFileOverride: fileEntries } : {}) }).users;
  const file = server.config.usersFile;
  // A node that missed reload announcements (its event channel was down) re-reads its users on its own.
  server.shared?.setUsersSource(() => load());
  return {
    reload: () => {
      const users = load();
      return { users: users.length, closed: apply(users) };
    },
    editor: file === '' ? undefined : new UsersEditor(file, server.config.auth.token, { load, apply }),
  };
}
