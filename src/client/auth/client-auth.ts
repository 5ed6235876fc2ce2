import type { ClientConfig } from '../../config/types.js';
import { readValueSource } from '../../config/value-source.js';
import { tokenDigest } from '../../protocol/auth.js';
import { BurrowError, describeError } from '../../util/errors.js';
import { OidcClientCredentials } from './oidc-client-credentials.js';

/** The credential fields of a Ping or NewWorkConn; empty when its scope is off. */
export interface SignedFields {
  privilege_key?: string;
  timestamp?: number;
}

/**
 * What the client puts in Login, and (with `auth.additionalScopes`) in Ping
 * and NewWorkConn, by `auth.method`. Built once per client, so a fetched
 * OIDC token is reused across reconnects until it expires.
 */
export interface ClientAuth {
  /** Login's privilege_key and timestamp; fetched before dialling, so an OIDC token request does not eat the server's login deadline */
  login(): Promise<Required<SignedFields>>;
  ping(): Promise<SignedFields>;
  newWorkConn(): Promise<SignedFields>;
  /**
   * Login's client_spec.always_auth_pass: set only by the SSH gateway's
   * in-process client, which the server trusts by the way it is connected
   * (frp's rule), not by this flag alone.
   */
  readonly alwaysAuthPass?: boolean;
}

export function createClientAuth(config: ClientConfig): ClientAuth {
  const { auth } = config;
  if (auth.method !== 'oidc') return new TokenAuth(auth.token, auth.additionalScopes);
  const source = auth.oidc.tokenSource;
  if (source) {
    // As frp: read again for every message that carries it, so a file another program refreshes stays current.
    return new OidcAuth(auth.additionalScopes, () => readValueSource(source));
  }
  const flow = new OidcClientCredentials(auth.oidc);
  return new OidcAuth(auth.additionalScopes, () => flow.token());
}

/** `auth.method = "token"`: md5(token + timestamp), with the timestamp beside it. */
class TokenAuth implements ClientAuth {
  constructor(
    private readonly token: string,
    private readonly scopes: readonly string[],
  ) {}

  async login(): Promise<Required<SignedFields>> {
    const timestamp = Math.floor(Date.now() / 1000);
    return { privilege_key: tokenDigest(this.token, timestamp), timestamp };
  }

  private signed(scope: string): SignedFields {
    if (!this.scopes.includes(scope)) return {};
    const timestamp = Math.floor(Date.now() / 1000);
    return { privilege_key: tokenDigest(this.token, timestamp), timestamp };
  }

  async ping(): Promise<SignedFields> {
    return this.signed('HeartBeats');
  }

  async newWorkConn(): Promise<SignedFields> {
    return this.signed('NewWorkConns');
  }
}

/** `auth.method = "oidc"`: the access token itself, no timestamp (as frp). */
class OidcAuth implements ClientAuth {
  constructor(
    private readonly scopes: readonly string[],
    private readonly accessToken: () => Promise<string>,
  ) {}

  private async token(what: string): Promise<string> {
    try {
      return await this.accessToken();
    } catch (err) {
      // frp's words, with the cause.
      throw new BurrowError('BURROW_OIDC_FAILED', `couldn't generate OIDC token for ${what}: ${describeError(err)}`);
    }
  }

  async login(): Promise<Required<SignedFields>> {
    return { privilege_key: await this.token('login'), timestamp: Math.floor(Date.now() / 1000) };
  }

  async ping(): Promise<SignedFields> {
    return this.scopes.includes('HeartBeats') ? { privilege_key: await this.token('heartbeat') } : {};
  }

  async newWorkConn(): Promise<SignedFields> {
    return this.scopes.includes('NewWorkConns') ? { privilege_key: await this.token('NewWorkConn') } : {};
  }
}
