/** Plain HTTP in, plain HTTP to localAddr. As frp, X-Forwarded-* headers are not passed on. */
import type { ClientPluginSettings } from '../config/types.js';
import { HttpBridgePlugin } from './http-bridge.js';
import { parseLocalAddr } from './local-addr.js';
import { ReverseProxy } from './reverse-proxy.js';
import type { ClientPlugin, PluginContext } from './types.js';

export function createHttp2HttpPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  const proxy = new ReverseProxy({
    scheme: 'http',
    target: parseLocalAddr(settings.localAddr, 'http2http'),
    hostHeaderRewrite: settings.hostHeaderRewrite ?? '',
    ...(settings.requestHeaders ? { requestHeaders: settings.requestHeaders } : {}),
    forwarded: 'drop',
    context,
    pluginType: 'http2http',
  });
  return new HttpBridgePlugin(proxy);
}
