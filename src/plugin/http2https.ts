/** Plain HTTP in, HTTPS to localAddr (not verified, as frp). The incoming X-Forwarded-For/Host/Proto are passed on unchanged. */
import type { ClientPluginSettings } from '../config/types.js';
import { HttpBridgePlugin } from './http-bridge.js';
import { parseLocalAddr } from './local-addr.js';
import { ReverseProxy } from './reverse-proxy.js';
import type { ClientPlugin, PluginContext } from './types.js';

export function createHttp2HttpsPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  const proxy = new ReverseProxy({
    scheme: 'https',
    target: parseLocalAddr(settings.localAddr, 'http2https'),
    hostHeaderRewrite: settings.hostHeaderRewrite ?? '',
    ...(settings.requestHeaders ? { requestHeaders: settings.requestHeaders } : {}),
    forwarded: 'keep',
    context,
    pluginType: 'http2https',
  });
  return new HttpBridgePlugin(proxy);
}
