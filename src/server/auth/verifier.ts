import type { ServerConfig } from '../../config/types.js';
import { checkSignedTimestamp } from '../../protocol/auth.js';
import type { Logger } from '../../util/logger.js';
import type { Account } from '../accounts/account.js';
import { OidcVerifier } from './oidc-verifier.js';

/** The two fields a signed message carries (Login, Ping, NewWorkConn). */
export interface PostLoginMessage {
  privilege_key?: string;
  timestamp?: number;
}

/** A Login as the verifier reads it: the signature and who it says it is. */
export interface LoginMessage extends PostLoginMessage {
  user?: string;
}

/**
 * A Login's verdict: who it is, or why not. `subject` is the OIDC subject,
 * a listed user's name (then `account` is theirs: the token, limits and
 * cipher key of that client), or empty with the global token.
 */
export type LoginAuth = { subject: string; account?: Account; refused?: undefined } | { refused: { category: string; reason: string } };

/** The accounts the token verifier checks listed users against (replaced on reload, so asked each time). */
export interface AccountLookup {
  readonly listed: boolean;
  find(name: string): Account | undefined;
}

/**
 * How the server checks who a client is, built once from `auth`: the login,
 * and (with `auth.additionalScopes`) heartbeats and work connections. The
 * callers do not know the method; a refusal is a reason the client can read.
 */
export interface AuthVerifier {
  verifyLogin(login: LoginMessage): Promise<LoginAuth>;
  /**
   * undefined = accepted, else the reason; `loginSubject` is what verifyLogin gave this client.
   * Answered at once when it can be (token; no scope), so Pongs keep the Pings' order.
   */
  verifyPing(msg: PostLoginMessage, loginSubject: string): string | undefined | Promise<string | undefined>;
  /** `signed`: the message carried a credential (it may then come from any address without tcpMux) */
  verifyNewWorkConn(msg: PostLoginMessage, loginSubject: string): Promise<{ signed: boolean; failure?: string }>;
}

export function createAuthVerifier(auth: ServerConfig['auth'], log: Logger, accounts?: AccountLookup): AuthVerifier {
  if (auth.method === 'oidc') return new OidcVerifier(auth.oidc, auth.additionalScopes, log.child({ part: 'oidc' }));
  return new TokenVerifier(auth.token, auth.additionalScopes, auth.maxClockSkew, accounts);
}

/**
 * `auth.method = "token"`: md5(token + timestamp), and unlike frp the
 * timestamp near the server clock. A Login whose `user` is a listed account
 * is checked against that account's token only (auth.token is refused for
 * it); with accounts listed and auth.token empty, users not listed are refused.
 */
class TokenVerifier implements AuthVerifier {
  constructor(
    private readonly token: string,
    private readonly scopes: readonly string[],
    private readonly maxClockSkew: number,
    private readonly accounts?: AccountLookup,
  ) {}

  /** `subject`: the account name the login named, '' for the global token; undefined when that account is gone. */
  private tokenOf(subject: string): string | undefined {
    return subject === '' ? this.token : this.accounts?.find(subject)?.token;
  }

  private check(msg: PostLoginMessage, what: string, subject: string): string | undefined {
    const token = this.tokenOf(subject);
    if (token === undefined) return `user [${subject}] is no longer an account on this server`;
    return checkSignedTimestamp(token, msg.timestamp, msg.privilege_key, this.maxClockSkew, Math.floor(Date.now() / 1000), what);
  }

  async verifyLogin(login: LoginMessage): Promise<LoginAuth> {
    const account = this.accounts?.find(login.user ?? '');
    if (!account && this.accounts?.listed && this.token === '') {
      return { refused: { category: 'user not listed', reason: `user [${login.user ?? ''}] is not an account on this server` } };
    }
    const subject = account?.name ?? '';
    const failure = this.check(login, 'login', subject);
    if (failure === undefined) return account ? { subject, account } : { subject };
    const reason = account ? `user [${account.name}]: ${failure}` : failure;
    return { refused: { category: /clocks/.test(failure) ? 'clock skew' : 'token mismatch', reason } };
  }

  verifyPing(msg: PostLoginMessage, loginSubject: string): string | undefined {
    return this.scopes.includes('HeartBeats') ? this.check(msg, 'heartbeat', loginSubject) : undefined;
  }

  async verifyNewWorkConn(msg: PostLoginMessage, loginSubject: string): Promise<{ signed: boolean; failure?: string }> {
    // A stock frpc signs only with the scope on; a signature sent anyway is checked too.
    const signed = this.scopes.includes('NewWorkConns') || (msg.privilege_key ?? '') !== '';
    return signed ? { signed, failure: this.check(msg, 'NewWorkConn', loginSubject) } : { signed };
  }
}
