import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { type ControlCipher, v2ControlCipher } from '../control/control-cipher.js';
import { writeMessage } from '../control/message-io.js';
import { wireOf } from '../control/wire-mark.js';
import { BURROW_SERVER_FEATURES } from '../protocol/burrow-features.js';
import type { Login } from '../protocol/messages.js';
import type { V2CryptoContext } from '../protocol/wire-v2-hello.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { clipped, shortRunId } from '../util/peer-string.js';
import { addressKey, hostPort } from '../util/address.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import type { Account } from './accounts/account.js';
import type { Accounts } from './accounts/accounts.js';
import type { AuthVerifier } from './auth/verifier.js';
import { type BindConn, refuseStream } from './bind-conn.js';
import type { ClientTable } from './client-table.js';
import type { LoginThrottle } from './login-throttle.js';
import { type ControlSession, ControlState } from './control-session.js';
import type { ManagePlugins } from './manage-plugins/manager.js';
import type { RefusalLog } from '../util/refusal-log.js';

/** Login refusals that say nothing about the credential, so they do not count toward limits.failedLoginsPerIP. */
const NOT_GUESSES: ReadonlySet<string> = new Set(['clock skew', 'issuer unreachable']);

/** What the login exchange needs from the server. */
export interface LoginHost {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly refusals: RefusalLog;
  readonly clientTable: ClientTable;
  /** frps server plugins (`[[httpPlugins]]`) */
  readonly plugins: ManagePlugins;
  readonly auth: AuthVerifier;
  /** `[[users]]`: expiry and quota are checked at login */
  readonly accounts: Accounts;
  /** failed logins per source address */
  readonly loginThrottle: LoginThrottle;
  /** false once the server is stopping */
  readonly accepting: boolean;
  /**
   * a control session on `stream` for a login that passed every check;
   * `authSubject` is who the credential named, `account` the listed user it
   * logged in as (its token keys the v1 control cipher)
   */
  openControl(
    runId: string,
    login: Login,
    authSubject: string | undefined,
    remote: string,
    stream: Duplex,
    bind: BindConn,
    log: Logger,
    cipher: ControlCipher | undefined,
    account: Account | undefined,
  ): ControlSession;
  clientOnline(control: ControlSession): void;
}

/**
 * One Login on a fresh logical connection, top to bottom: check it, answer
 * LoginResp, then hand the stream to a new control session. A refusal answers
 * with the reason and tears the physical connection down shortly after.
 */
export async function serveLogin(host: LoginHost, stream: Duplex, sent: Login, bind: BindConn, crypto?: V2CryptoContext): Promise<void> {
  const remote = bind.remote;
  let login = sent;
  const refuse = async (category: string, reason: string, toClient = reason): Promise<void> => {
    host.refusals.refused(`login refused: ${category}`, remote, { user: clipped(login.user), reason });
    await refuseStream(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, error: toClient } });
    // The refused client gets no other stream: tear its physical connection down once the answer is out.
    setTimeout(bind.destroy, 1000).unref();
  };
  if (!host.accepting) return refuse('shutting down', 'server is shutting down');
  // A v2 control is enciphered with keys from the hello: a v2 Login without one has nothing to key it.
  const v2 = wireOf(stream) === 'v2';
  if (v2 && crypto === undefined) return refuse('no v2 hello', 'missing v2 crypto negotiation');
  if (host.plugins.has('Login')) {
    // As frps: the plugins see the Login first and may change it; every check below reads what they return.
    try {
      login = await host.plugins.login({ ...sent, client_address: hostPort(remote, bind.remotePort) });
    } catch (err) {
      const reason = describeError(err);
      return refuse('server plugin', reason, host.config.detailedErrorsToClient ? reason : 'register control error');
    }
    // The login deadline may have dropped the connection while the plugins thought.
    if (stream.destroyed || !host.accepting) return;
  }
  if (!login.version) return refuse('no version', 'login refused: the version field is missing');
  // With OIDC this may wait for the issuer (bounded there, and by limits.loginTimeout around the whole login).
  // As frp: the SSH gateway's own client logged its user in already (by key or by the token in its command).
  const gateway = bind.inProcess && login.client_spec?.always_auth_pass === true;
  // Guessing tokens from one address is slowed to limits.failedLoginsPerIP tries a minute; a good client elsewhere never meets it.
  const addr = addressKey(remote);
  const wait = gateway ? 0 : host.loginThrottle.refusedFor(addr);
  if (wait > 0) return refuse('too many failed logins', `too many failed logins from this address; try again in ${wait} s`);
  const verdict: { subject?: string; account?: Account; refused?: { category: string; reason: string } } = gateway
    ? gatewayVerdict(host, login.user ?? '')
    : await host.auth.verifyLogin(login);
  if (verdict.refused) {
    // A wrong clock or an unreachable issuer is no guess at a credential: only the others count.
    if (!NOT_GUESSES.has(verdict.refused.category) && host.loginThrottle.failed(addr)) {
      const max = host.config.limits.failedLoginsPerIP;
      host.log.warn(`${max} failed logins from this address within a minute (limits.failedLoginsPerIP): its logins are refused for 60 s`, { remote });
    }
    return refuse(verdict.refused.category, verdict.refused.reason);
  }
  if (!gateway) host.loginThrottle.succeeded(addr);
  const account = verdict.account;
  // An expired account, or one whose quota is used up, may not log in: the reason names the limit.
  const standing = account ? host.accounts.loginRefusal(account) : undefined;
  if (standing) return refuse('account limit', standing);
  if (!host.accepting) return refuse('shutting down', 'server is shutting down');
  let runId = login.run_id ?? '';
  if (runId !== '' && !/^[0-9a-zA-Z_-]{1,64}$/.test(runId)) return refuse('malformed run_id', 'login refused: run_id is malformed');
  // Unlike frp, a run id is not a credential on its own: only the same user
  // takes a live one over. Another user gets a fresh one (frpc adopts what
  // LoginResp says), so neither side can lock the other out.
  let previous = runId ? host.clientTable.get(runId) : undefined;
  if (previous && previous.user !== (login.user ?? '')) {
    host.log.warn("login with the run id of another user's client: given a new run id", { remote, user: clipped(login.user), runId: shortRunId(runId) });
    previous = undefined;
    runId = '';
  }
  // As frps: one client id per user online at a time; the session already online stays.
  const clientId = login.client_id ?? '';
  if (host.clientTable.otherWithClientId(login.user ?? '', clientId, runId)) {
    const detailed = `client_id [${clientId}] for user [${login.user ?? ''}] is already online`;
    return refuse('client id already online', host.config.detailedErrorsToClient ? detailed : 'register control error');
  }
  // serverAddrs: the sessions of one client share their proxies across nodes; two on one node would collide on every name.
  const sessionGroup = login.burrow_session_group ?? '';
  if (sessionGroup.length > 64) return refuse('malformed session group', 'login refused: burrow_session_group is longer than 64 characters');
  if (sessionGroup !== '' && [...host.clientTable.values()].some((c) => c.runId !== runId && (c.login.burrow_session_group ?? '') === sessionGroup)) {
    return refuse('second session of one client', 'this client already has a session on this server: each of serverAddrs must reach another node');
  }
  if (previous) previous.close('replaced by a new login with the same run_id');
  if (runId === '') runId = randomBytes(8).toString('hex');

  // A burrow client (it names burrow_features) learns the public side, so `burrow http` prints the exact URL; frpc gets frps's bytes.
  const { subDomainHost, vhostHTTPPort, vhostHTTPSPort } = host.config;
  const info = login.burrow_features
    ? {
        burrow_server: {
          features: Object.values(BURROW_SERVER_FEATURES),
          subdomain_host: subDomainHost,
          vhost_http_port: vhostHTTPPort,
          vhost_https_port: vhostHTTPSPort,
        },
      }
    : {};
  await writeMessage(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, run_id: runId, ...info } });
  bind.trust();
  const log = host.log.child({ client: shortRunId(runId), ...(login.user ? { user: clipped(login.user) } : {}) });
  // A listed user's client keys its control with its own token, as a stock frpc does.
  const cipher = v2 && crypto ? v2ControlCipher(account?.token ?? host.config.auth.token, crypto, 'server') : undefined;
  const control = host.openControl(runId, login, verdict.subject, remote, stream, bind, log, cipher, account);
  if (control.state !== ControlState.Active) return;
  host.clientTable.add(control, bind);
  host.clientOnline(control);
  log.info('client logged in', { remote, version: clipped(login.version), hostname: clipped(login.hostname), ...(v2 ? { wireProtocol: 'v2' } : {}) });
}

/**
 * The SSH gateway's own client: the gateway let its user in (by key), so no
 * credential is checked and no subject is kept for scoped checks. A listed
 * name is that account, with its limits; a name not listed gets in only where
 * the global token would let it (auth.token set, or no accounts in use).
 */
function gatewayVerdict(host: LoginHost, user: string): { account?: Account; refused?: { category: string; reason: string } } {
  const account = host.accounts.find(user);
  if (account) return { account };
  if (host.accounts.listed && host.config.auth.token === '') {
    return { refused: { category: 'user not listed', reason: `user [${user}] is not an account on this server` } };
  }
  return {};
}
