/**
 * Errors carry a stable `code` so callers and tests match on codes, not on
 * message text. The message is written for a person reading a log line.
 */
export type BurrowErrorCode =
  | 'BURROW_AUTH_FAILED'
  | 'BURROW_BAD_FRAME'
  | 'BURROW_FRAME_TOO_LARGE'
  | 'BURROW_UNKNOWN_MESSAGE'
  | 'BURROW_TIMEOUT'
  | 'BURROW_CLOSED'
  | 'BURROW_MUX_PROTOCOL'
  | 'BURROW_MUX_WINDOW_EXCEEDED'
  | 'BURROW_MUX_GO_AWAY'
  | 'BURROW_MUX_STREAM_LIMIT'
  | 'BURROW_CIPHER'
  | 'BURROW_COMPRESSION'
  | 'BURROW_PROXY_REJECTED'
  | 'BURROW_ACCOUNT_LIMIT'
  | 'BURROW_CONFIG_INVALID'
  | 'BURROW_LOGIN_FAILED'
  | 'BURROW_TLS'
  | 'BURROW_TLS_FINGERPRINT_MISMATCH'
  | 'BURROW_DIAL_FAILED'
  | 'BURROW_LISTEN_FAILED'
  | 'BURROW_MUX_STREAM_RESET'
  | 'BURROW_HTTP_HEAD_TOO_LARGE'
  | 'BURROW_HTTP_BAD_REQUEST'
  | 'BURROW_HTTP_BAD_RESPONSE'
  | 'BURROW_TLS_BAD_CLIENT_HELLO'
  | 'BURROW_REPLAY_INVALID'
  | 'BURROW_REPLAY_FAILED'
  | 'BURROW_PROXY_FAILED'
  | 'BURROW_WEBSOCKET'
  | 'BURROW_DNS_FAILED'
  | 'BURROW_UDP_UNKNOWN_PEER'
  | 'BURROW_VISITOR_UNKNOWN_PROXY'
  | 'BURROW_VISITOR_NOT_ALLOWED'
  | 'BURROW_VISITOR_CLOCK_SKEW'
  | 'BURROW_VISITOR_REFUSED'
  | 'BURROW_NAT_HOLE_FAILED'
  | 'BURROW_CLOCK_SKEW'
  | 'BURROW_QUEUE_FULL'
  | 'BURROW_STORE_NOT_FOUND'
  | 'BURROW_STORE_CONFLICT'
  | 'BURROW_PLUGIN_REJECTED'
  | 'BURROW_CLUSTER_UNAVAILABLE'
  | 'BURROW_CLUSTER_LINK'
  | 'BURROW_PLUGIN_FAILED'
  | 'BURROW_SSH_COMMAND'

  /** an OIDC issuer or token endpoint could not be reached or gave an unusable answer */
  | 'BURROW_OIDC_FAILED'
  | 'BURROW_ACME_FAILED';

export class BurrowError extends Error {
  readonly code: BurrowErrorCode;

  constructor(code: BurrowErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BurrowError';
    this.code = code;
  }
}

export function isBurrowError(err: unknown, code?: BurrowErrorCode): err is BurrowError {
  return err instanceof BurrowError && (code === undefined || err.code === code);
}

/** A readable one-line description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
