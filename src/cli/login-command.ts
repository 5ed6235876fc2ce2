import { parseArgs } from 'node:util';
import { BurrowClient } from '../client/client.js';
import { buildClientConfig } from '../config/load.js';
import { describeError } from '../util/errors.js';
import { silentLogger } from '../util/logger.js';
import { loginFile, removeLogin, saveLogin } from './credentials.js';
import { clientSettings, connectionOptions, resolveConnection } from './quick-connection.js';

export const LOGIN_HELP = `Usage: burrow login --server <host:port> [--token T] [--no-tls] [--fingerprint <sha256:…>] [--no-mux]
       burrow logout

Logs in to the server once, as the client would (TLS, token), and only if
that works saves the server and token for "burrow http|tcp|udp" and
"burrow status" (in $XDG_CONFIG_HOME/burrow/login.json or
~/.config/burrow/login.json, readable by you only). A wrong token or an
unreachable server saves nothing. "burrow logout" removes the file.`;

export async function runLogin(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...connectionOptions, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return void console.log(LOGIN_HELP);
  if (values.server === undefined) throw new Error('burrow login: --server <host:port> is required');
  const connection = resolveConnection('login', values);
  // The check is a real Login through the client's own code: dial, TLS, the token digest, LoginResp.
  const config = buildClientConfig({ ...clientSettings('login', connection), loginFailExit: true }, 'command line');
  const client = new BurrowClient(config, silentLogger);
  try {
    await client.start();
  } catch (err) {
    throw new Error(`login to ${connection.server} failed, nothing was saved: ${describeError(err).replace(/^login to \S+ failed: /, '')}`);
  } finally {
    client.stop();
  }
  const file = saveLogin(connection);
  console.log(`logged in to ${connection.server}; saved in ${file}`);
  console.log('next: burrow http <localPort>');
}

export function runLogout(args: string[]): void {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return void console.log(LOGIN_HELP);
  console.log(removeLogin() ? `logged out: removed ${loginFile()}` : `not logged in (no ${loginFile()})`);
}
