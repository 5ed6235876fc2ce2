import type { CloseProxy, Login, NewProxy, NewWorkConn, Ping } from '../../protocol/messages.js';

/**
 * frps's server manage plugins (`[[httpPlugins]]`): what goes over the wire
 * to a plugin, key for key as frp sends it, so a plugin written for frps
 * reads burrow's requests unchanged.
 */

/** frp's plugin API version: in the request body and in the query string. */
export const PLUGIN_API_VERSION = '0.1.0';

/** The operations a plugin may subscribe to (`ops`), in frp's spelling. */
export const MANAGE_OPS = ['Login', 'NewProxy', 'CloseProxy', 'Ping', 'NewWorkConn', 'NewUserConn'] as const;
export type ManageOp = (typeof MANAGE_OPS)[number];

/** The logged-in client an operation is about. */
export interface PluginUserInfo {
  user: string;
  metas: Record<string, string>;
  run_id: string;
}

/** Login: the message as the client sent it, and its `ip:port`. */
export interface LoginContent extends Login {
  client_address?: string;
}

export interface NewProxyContent extends NewProxy {
  user: PluginUserInfo;
}

export interface CloseProxyContent extends CloseProxy {
  user: PluginUserInfo;
}

export interface PingContent extends Ping {
  user: PluginUserInfo;
}

export interface NewWorkConnContent extends NewWorkConn {
  user: PluginUserInfo;
}

/** A user (visitor) connection accepted by a proxy, before it gets a work connection. */
export interface NewUserConnContent {
  user: PluginUserInfo;
  proxy_name: string;
  proxy_type: string;
  /** the user's `ip:port` */
  remote_addr: string;
}

/** One plugin's answer to one request: `{reject, reject_reason, unchange, content}`. */
export interface PluginAnswer {
  reject: boolean;
  rejectReason: string;
  unchange: boolean;
  /** the content to carry on with when `unchange` is false; still to be checked against its message schema */
  content: unknown;
}
