import type { ClientPluginSettings, ClientPluginType } from '../config/types.js';
import { BurrowError } from '../util/errors.js';
import { parseLocalAddr } from './local-addr.js';
import { pluginSecureContext } from './tls-certificate.js';
import type { PluginContext } from './types.js';
import { refuseVirtualNet } from './virtual-net.js';

/**
 * What each plugin's own start refuses, checked before its module is
 * loaded (registry.ts): a bad setting still fails the proxy's start at once,
 * as frp's does, while the plugin's code loads only for a proxy that has one.
 * Each plugin runs the same checks again when made; they are cheap.
 */

/** plugin.localPath of static_file. */
export function requireLocalPath(settings: ClientPluginSettings): string {
  if (!settings.localPath) throw new BurrowError('BURROW_CONFIG_INVALID', 'plugin.localPath: plugin static_file needs the directory to serve');
  return settings.localPath;
}

/** plugin.unixPath of unix_domain_socket. */
export function requireUnixPath(settings: ClientPluginSettings): string {
  if (!settings.unixPath) throw new BurrowError('BURROW_CONFIG_INVALID', 'plugin.unixPath: plugin unix_domain_socket needs the socket path');
  return settings.unixPath;
}

/** A TLS-terminating plugin: its target, and its certificate files when both are named (else a self-signed one is made, which cannot fail). */
function checkTlsPlugin(settings: ClientPluginSettings, type: ClientPluginType): void {
  parseLocalAddr(settings.localAddr, type);
  if (settings.crtPath && settings.keyPath) pluginSecureContext(settings.crtPath, settings.keyPath, type);
}

const CHECKS: Readonly<Record<ClientPluginType, (settings: ClientPluginSettings, context: PluginContext) => void>> = {
  http_proxy: () => {},
  socks5: () => {},
  static_file: (s) => void requireLocalPath(s),
  unix_domain_socket: (s) => void requireUnixPath(s),
  http2http: (s) => void parseLocalAddr(s.localAddr, 'http2http'),
  http2https: (s) => void parseLocalAddr(s.localAddr, 'http2https'),
  https2http: (s) => checkTlsPlugin(s, 'https2http'),
  https2https: (s) => checkTlsPlugin(s, 'https2https'),
  tls2raw: (s) => checkTlsPlugin(s, 'tls2raw'),
  virtual_net: (s, context) => void refuseVirtualNet(s, context),
};

/** Throws the BURROW_CONFIG_INVALID error the plugin's own start would. */
export function checkPluginSettings(settings: ClientPluginSettings, context: PluginContext): void {
  CHECKS[settings.type](settings, context);
}
