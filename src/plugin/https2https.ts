/** HTTPS in (TLS ends here), HTTPS to localAddr (not verified, as frp). The visitor address is appended to X-Forwarded-For. */
import type { ClientPluginSettings } from '../config/types.js';
import { HttpsBridgePlugin } from './https-bridge.js';
import { HttpsConnectionServer } from './https-server.js';
import { parseLocalAddr } from './local-addr.js';
import { ReverseProxy } from './reverse-proxy.js';
import { pluginSecureContext } from './tls-certificate.js';
import type { ClientPlugin, PluginContext } from './types.js';

export function createHttps2HttpsPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  const proxy = new ReverseProxy({
    scheme: 'https',
    target: parseLocalAddr(settings.localAddr, 'https2https'),
    hostHeaderRewrite: settings.hostHeaderRewrite ?? '',
    ...(settings.requestHeaders ? { requestHeaders: settings.requestHeaders } : {}),
    forwarded: 'append',
    context,
    pluginType: 'https2https',
  });
  const server = new HttpsConnectionServer((req, res) => proxy.forward(req, res), {
    secureContext: pluginSecureContext(settings.crtPath, settings.keyPath, 'https2https'),
    // Absent means on, as frp.
    enableHTTP2: settings.enableHTTP2 !== false,
    context,
    pluginType: 'https2https',
    upgrade: (req, socket, head) => proxy.upgrade(req, socket, head),
  });
  return new HttpsBridgePlugin(server, proxy);
}
