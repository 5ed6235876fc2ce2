/**
 * burrow as a library: what the `burrow` command itself uses to run a server
 * or a client from a config, and nothing more. Everything else in the tree is
 * internal and may move; these names stay.
 *
 *   const server = new BurrowServer(loadServerConfig('frps.toml'));
 *   await server.start();
 *   const client = new BurrowClient(loadClientConfig('frpc.toml'));
 *   await client.start();
 *   ...
 *   client.stop();
 *   await server.stop();
 */

export { BurrowServer, ServerState } from './server/server.js';
export { BurrowClient, ClientState, type BurrowClientOptions, type ProxyPhase, type ProxyStatus } from './client/client.js';
export { GatewayState, SshGateway } from './sshgw/gateway.js';
export { startServerDashboard, type ServerDashboard, type ServerDashboardOptions } from './admin/server-api.js';
export { startClientAdmin, type ClientAdminOptions } from './admin/client-api.js';

// A file is loaded (any of frp's formats) or plain data built; both are validated once and frozen.
export {
  ConfigError,
  buildClientConfig,
  buildServerConfig,
  loadClientConfig,
  loadServerConfig,
  type BuildOptions,
  type ConfigFormat,
  type LoadOptions,
} from './config/load.js';
export type { ClientConfig, ProxyConfig, ProxyType, ServerConfig, VisitorConfig, VisitorType } from './config/types.js';

export { BurrowError, isBurrowError, type BurrowErrorCode } from './util/errors.js';
export { createLogger, silentLogger, type LogLevel, type Logger, type LoggerOptions } from './util/logger.js';
export { BURROW_VERSION, FRP_COMPAT_VERSION } from './util/version.js';
