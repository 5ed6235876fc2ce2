import type { ProxyConfig } from '../config/types.js';
import { BURROW_SERVER_FEATURES, type BurrowServerInfo, hasBurrowFeature } from '../protocol/burrow-features.js';

/**
 * Why a proxy must not be registered with this server, or undefined when it
 * may be. `sso` travels in NewProxy as a field a stock frps drops unread: the
 * proxy would start there with no login in front of it, open to anyone. So,
 * unlike allowIPs/denyIPs (which only warn), a proxy with `sso` is refused
 * unless the server said at login that it enforces it (`sso` in LoginResp's
 * `burrow_server.features`): a burrow server built before SSO sends
 * `burrow_server` too, and drops `burrow_sso` as frps does.
 */
export function burrowOnlyRefusal(p: ProxyConfig, server: BurrowServerInfo | undefined): string | undefined {
  if (!p.sso || hasBurrowFeature(server?.features, BURROW_SERVER_FEATURES.sso)) return undefined;
  return server
    ? 'sso: this server does not support sso (a burrow server older than sso ignores it and would serve the proxy to anyone without a login); not started'
    : 'sso: this server does not support sso (it is not burrow: a stock frps ignores sso and would serve the proxy to anyone without a login); not started';
}
