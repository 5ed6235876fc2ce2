import { getTransport } from '../transport/index.js';
import { describeError } from '../util/errors.js';
import type { ProblemSink } from './schema-engine.js';
import type { ServerConfig, ValidatedClientConfig } from './types.js';

/**
 * Keys frp accepts that burrow does not implement yet: refused at load, with
 * the key and the reason, when they are set to anything but frp's default, so
 * no key is silently accepted. At their defaults they load (frp's own example
 * files write several of them out). The full inventory, key by key, is
 * test/unit/config-keys-corpus.test.ts.
 */
const PPROF = 'is not supported: burrow has no Go profiler to serve at /debug/pprof';

export function refuseUnsupportedServer(cfg: ServerConfig, error: ProblemSink): void {
  if (cfg.webServer.pprofEnable) error('webServer.pprofEnable', `true ${PPROF}`);
  if (cfg.webServer.assetsDir !== '') error('webServer.assetsDir', 'is not supported: burrow serves its own dashboard pages');
  if (cfg.transport.tcpKeepalive !== 7200)
    error('transport.tcpKeepalive', 'is not supported yet: burrow leaves TCP keep-alive of accepted connections to the system');
  if (cfg.natholeAnalysisDataReserveHours !== 168) {
    error('natholeAnalysisDataReserveHours', 'is not supported: burrow keeps no NAT analysis data between xtcp attempts');
  }
}

export function refuseUnsupportedClient(cfg: ValidatedClientConfig, error: ProblemSink): void {
  if (cfg.webServer.pprofEnable) error('webServer.pprofEnable', `true ${PPROF}`);
  if (cfg.webServer.assetsDir !== '') error('webServer.assetsDir', 'is not supported: burrow serves its own admin pages');
  try {
    getTransport(cfg.transport.protocol);
  } catch (err) {
    error('transport.protocol', describeError(err));
  }
  for (const [gate, on] of Object.entries(cfg.featureGates)) {
    if (on) error(`featureGates.${gate}`, 'is not supported: burrow has no feature gates (VirtualNet needs a TUN device, which burrow does not create)');
  }
  if (cfg.virtualNet.address !== '') error('virtualNet.address', 'is not supported: the virtual network needs a TUN device, which burrow does not create');
}
