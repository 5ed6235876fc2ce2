import type { ServerConfig } from '../../config/types.js';
import { checkSignedTimestamp } from '../../protocol/auth.js';
import type { Logger } from '../../util/logger.js';
import { OidcVerifier } from './oidc-verifier.js';

/** The two fields a signed message carries (Login, Ping, NewWorkConn). */
export interface PostLoginMessage {
  privilege_key?: string;
  timestamp?: number;
}

/** A Login's verdict: who it is (the OIDC subject; empty with a token), or why not. */
export type LoginAuth = { subject: string; refused?: undefined } | { refused: { category: string; reason: string } };

/**
 * How the server checks who a client is, built once from `auth`: the login,
 * and (with `auth.additionalScopes`) heartbeats and work connections. The
 * callers do not know the method; a refusal is a reason the client can read.
 */
export interface AuthVerifier {
  verifyLogin(login: PostLoginMessage): Promise<LoginAuth>;
  /**
   * undefined = accepted, else the reason; `loginSubject` is what verifyLogin gave this client.
   * Answered at once when it can be (token; no scope), so Pongs keep the Pings' order.
   */
  verifyPing(msg: PostLoginMessage, loginSubject: string): string | undefined | Promise<string | undefined>;
  /** `signed`: the message carried a credential (it may then come from any address without tcpMux) */
  verifyNewWorkConn(msg: PostLoginMessage, loginSubject: string): Promise<{ signed: boolean; failure?: string }>;
}

export function createAuthVerifier(auth: ServerConfig['auth'], log: Logger): AuthVerifier {
  if (auth.method === 'oidc') return new OidcVerifier(auth.oidc, auth.additionalScopes, log.child({ part: 'oidc' }));
  return new TokenVerifier(auth.token, auth.additionalScopes, auth.maxClockSkew);
}

/** `auth.method = "token"`: md5(token + timestamp), and unlike frp the timestamp near the server clock. */
class TokenVerifier implements AuthVerifier {
  constructor(
    private readonly token: string,
    private readonly scopes: readonly string[],
    private readonly maxClockSkew: number,
  ) {}

  private check(msg: PostLoginMessage, what: string): string | undefined {
    return checkSignedTimestamp(this.token, msg.timestamp, msg.privilege_key, this.maxClockSkew, Math.floor(Date.now() / 1000), what);
  }

  async verifyLogin(login: PostLoginMessage): Promise<LoginAuth> {
    const failure = this.check(login, 'login');
    if (failure === undefined) return { subject: '' };
    return { refused: { category: /clocks/.test(failure) ? 'clock skew' : 'token mismatch', reason: failure } };
  }

  verifyPing(msg: PostLoginMessage): string | undefined {
    return this.scopes.includes('HeartBeats') ? this.check(msg, 'heartbeat') : undefined;
  }

  async verifyNewWorkConn(msg: PostLoginMessage): Promise<{ signed: boolean; failure?: string }> {
    // A stock frpc signs only with the scope on; a signature sent anyway is checked too.
    const signed = this.scopes.includes('NewWorkConns') || (msg.privilege_key ?? '') !== '';
    return signed ? { signed, failure: this.check(msg, 'NewWorkConn') } : { signed };
  }
}
