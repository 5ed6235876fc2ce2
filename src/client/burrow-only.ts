import type { ProxyConfig } from '../config/types.js';

/**
 * Why a proxy must not be registered with this server, or undefined when it
 * may be. `sso` travels in NewProxy as a field a stock frps drops unread: the
 * proxy would start there with no login in front of it, open to anyone. So,
 * unlike allowIPs/denyIPs (which only warn), a proxy with `sso` is refused
 * unless the server said at login that it is burrow (LoginResp's
 * `burrow_server`).
 */
export function burrowOnlyRefusal(p: ProxyConfig, serverIsBurrow: boolean): string | undefined {
  if (serverIsBurrow || !p.sso) return undefined;
  return 'sso: needs a burrow server, and this server is not burrow (a stock frps ignores sso and would serve the proxy to anyone without a login); not started';
}
