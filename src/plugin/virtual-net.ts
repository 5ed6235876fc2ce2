import type { ClientPluginSettings } from '../config/types.js';
import { BurrowError } from '../util/errors.js';
import type { ClientPlugin, PluginContext } from './types.js';

/** virtual_net is refused when the proxy starts: it routes IP packets through a TUN device, which burrow does not create. */
export function refuseVirtualNet(_settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  throw new BurrowError(
    'BURROW_CONFIG_INVALID',
    `proxy ${context.proxyName}: plugin.type "virtual_net" is not supported: it needs a TUN device (frp's virtual network), which burrow does not create`,
  );
}
