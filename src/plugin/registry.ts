/**
 * Every plugin type frp knows, each mapped to its factory; a type added to
 * ClientPluginType without an entry here fails to compile.
 */
import type { ClientPluginSettings, ClientPluginType } from '../config/types.js';
import { createHttp2HttpPlugin } from './http2http.js';
import { createHttp2HttpsPlugin } from './http2https.js';
import { createHttpProxyPlugin } from './http-proxy.js';
import { createHttps2HttpPlugin } from './https2http.js';
import { createHttps2HttpsPlugin } from './https2https.js';
import { createSocks5Plugin } from './socks5.js';
import { createStaticFilePlugin } from './static-file.js';
import { createTls2RawPlugin } from './tls2raw.js';
import type { ClientPlugin, PluginContext } from './types.js';
import { createUnixDomainSocketPlugin } from './unix-domain-socket.js';
import { refuseVirtualNet } from './virtual-net.js';

export type ClientPluginFactory = (settings: ClientPluginSettings, context: PluginContext) => ClientPlugin;

export const CLIENT_PLUGINS: Readonly<Record<ClientPluginType, ClientPluginFactory>> = Object.freeze({
  http_proxy: createHttpProxyPlugin,
  socks5: createSocks5Plugin,
  static_file: createStaticFilePlugin,
  unix_domain_socket: createUnixDomainSocketPlugin,
  http2https: createHttp2HttpsPlugin,
  http2http: createHttp2HttpPlugin,
  https2http: createHttps2HttpPlugin,
  https2https: createHttps2HttpsPlugin,
  tls2raw: createTls2RawPlugin,
  virtual_net: refuseVirtualNet,
});

/**
 * The plugin for one proxy, made when the proxy starts. Throws a
 * BURROW_CONFIG_INVALID BurrowError for settings it cannot serve
 * (virtual_net, a bad localAddr, unreadable certificate files).
 */
export function createClientPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return CLIENT_PLUGINS[settings.type](settings, context);
}
