/**
 * Every plugin type frp knows, each mapped to a loader of its factory; a type
 * added to ClientPluginType without an entry here fails to compile. A plugin's
 * module (HTTP servers, HTTP/2, the file server: about a megabyte of a
 * client's memory) loads only when a proxy has that plugin.
 */
import type { ClientPluginSettings, ClientPluginType } from '../config/types.js';
import { type ClientPluginFactory, LoadingPlugin } from './loading-plugin.js';
import { checkPluginSettings } from './settings-check.js';
import type { ClientPlugin, PluginContext } from './types.js';

export type { ClientPluginFactory } from './loading-plugin.js';

export const CLIENT_PLUGINS: Readonly<Record<ClientPluginType, () => Promise<ClientPluginFactory>>> = Object.freeze({
  http_proxy: async () => (await import('./http-proxy.js')).createHttpProxyPlugin,
  socks5: async () => (await import('./socks5.js')).createSocks5Plugin,
  static_file: async () => (await import('./static-file.js')).createStaticFilePlugin,
  unix_domain_socket: async () => (await import('./unix-domain-socket.js')).createUnixDomainSocketPlugin,
  http2https: async () => (await import('./http2https.js')).createHttp2HttpsPlugin,
  http2http: async () => (await import('./http2http.js')).createHttp2HttpPlugin,
  https2http: async () => (await import('./https2http.js')).createHttps2HttpPlugin,
  https2https: async () => (await import('./https2https.js')).createHttps2HttpsPlugin,
  tls2raw: async () => (await import('./tls2raw.js')).createTls2RawPlugin,
  virtual_net: async () => (await import('./virtual-net.js')).refuseVirtualNet,
});

/**
 * The plugin for one proxy, made when the proxy starts. Throws a
 * BURROW_CONFIG_INVALID BurrowError for settings it cannot serve
 * (virtual_net, a bad localAddr, unreadable certificate files) before
 * anything loads; the plugin itself is ready tens of milliseconds later.
 */
export function createClientPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  checkPluginSettings(settings, context);
  return new LoadingPlugin(CLIENT_PLUGINS[settings.type](), settings, context);
}
