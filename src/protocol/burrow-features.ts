/**
 * What a burrow peer says it can do beyond frp, in `burrow_features` (Login,
 * NewVisitorConn: what the sender can read; StartWorkConn, NewVisitorConnResp:
 * what the far end of that connection can read). Go's JSON decoder drops
 * unknown keys, so a stock frp peer ignores the field, never sends it, and is
 * treated as frp.
 */
export const BURROW_FEATURES = Object.freeze({
  /** reads UDPPacket bodies up to UDP_STREAM_MAX_BODY, so datagrams travel whole (up to 65535 bytes) */
  wholeDatagrams: 'udp-whole',
});

/**
 * What a burrow server says it enforces, in LoginResp's `burrow_server.features`.
 * A client needs the name, not just a burrow server: one built before the
 * feature drops its NewProxy fields unread, as frps does.
 */
export const BURROW_SERVER_FEATURES = Object.freeze({
  /** reads NewProxy's burrow_sso and puts the login in front of the proxy */
  sso: 'sso',
});

/** True when a `burrow_features` list names `feature`. */
export function hasBurrowFeature(list: readonly string[] | undefined, feature: string): boolean {
  return list?.includes(feature) === true;
}

/**
 * What a burrow server tells a client that named burrow_features, in
 * LoginResp's `burrow_server`: its public side, so `burrow http` knows at
 * login whether the server can name a tunnel. frpc ignores the key; frps
 * never sends it.
 */
export interface BurrowServerInfo {
  /** what this server enforces beyond frp (see BURROW_SERVER_FEATURES); a burrow server built before a feature does not name it */
  features?: string[];
  subdomain_host?: string;
  vhost_http_port?: number;
  vhost_https_port?: number;
}

/**
 * burrow's extension of NewProxy: the proxy's `allowIPs` / `denyIPs`,
 * enforced by a burrow server on every user connection. Go's JSON decoder
 * drops unknown keys, so a stock frps ignores them.
 */
export interface BurrowProxyAccess {
  burrow_allow_ips?: string[];
  burrow_deny_ips?: string[];
  /** an http proxy's `sso`: a stock frps would ignore it and leave the service open, so the client sends it only to a burrow server */
  burrow_sso?: BurrowSso;
}

/** An http proxy's OIDC login (`[proxies.sso]`), as NewProxy carries it. */
export interface BurrowSso {
  issuer?: string;
  client_id?: string;
  client_secret?: string;
  allowed_emails?: string[];
  allowed_domains?: string[];
  session_seconds?: number;
  email_header?: string;
}

const BURROW_SSO_FIELDS = {
  issuer: 'str',
  client_id: 'str',
  client_secret: 'str',
  allowed_emails: 'strs',
  allowed_domains: 'strs',
  session_seconds: 'int',
  email_header: 'str',
} as const satisfies { readonly [F in keyof Required<BurrowSso>]: unknown };

/** Their wire fields, spread into NewProxy's schema. */
export const BURROW_PROXY_ACCESS_FIELDS = {
  burrow_allow_ips: 'strs',
  burrow_deny_ips: 'strs',
  burrow_sso: { struct: BURROW_SSO_FIELDS, always: false },
} as const;

/** burrow's extension of Login; Go's JSON decoder drops unknown keys, so a stock frps ignores them. */
export interface BurrowLogin {
  /** what this client can read (see BURROW_FEATURES) */
  burrow_features?: string[];
  /** the secret id one client's sessions to several nodes of a cluster share (`serverAddrs`): they share their proxies as one group (docs/cluster.md) */
  burrow_session_group?: string;
}

/** Their wire fields, spread into Login's schema. */
export const BURROW_LOGIN_FIELDS = { burrow_features: 'strs', burrow_session_group: 'str' } as const;
