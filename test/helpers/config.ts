import assert from 'node:assert/strict';
import { ConfigError, buildClientConfig, buildServerConfig } from '../../src/config/load.js';
import type { ClientConfig, ProxyConfig, ServerConfig, VisitorConfig } from '../../src/config/types.js';

export const TOKEN = 'test-token';

/**
 * What a test writes before validation: the shape of the validated config
 * with every field optional at every depth, so a misspelt key or a wrong
 * type fails the typecheck instead of the validator at run time.
 */
export type Raw<T> = T extends readonly (infer U)[] ? Raw<U>[] : T extends object ? { [K in keyof T]?: Raw<T[K]> } : T;
/** frp also takes a single port as `{ single: n }` in allowPorts. */
export type RawServerConfig = Omit<Raw<ServerConfig>, 'allowPorts'> & { allowPorts?: Array<{ start?: number; end?: number; single?: number }> };
export type RawClientConfig = Raw<ClientConfig>;
export type RawProxy = Raw<ProxyConfig>;
export type RawVisitor = Raw<VisitorConfig>;

/** A validated server config on 127.0.0.1, an OS-picked port and the test token, with `overrides` on top. */
export function serverConfig(overrides: RawServerConfig = {}): ServerConfig {
  return buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0, auth: { token: TOKEN }, ...overrides });
}

/** A validated client config toward 127.0.0.1:`serverPort` with the test token, with `overrides` on top. */
export function clientConfig(serverPort: number, overrides: RawClientConfig = {}): ClientConfig {
  return buildClientConfig({ serverAddr: '127.0.0.1', serverPort, auth: { token: TOKEN }, ...overrides });
}

/** A tcp proxy to 127.0.0.1:`localPort`; the server picks the public port unless `extra` says. */
export function tcpProxy(name: string, localPort: number, extra: RawProxy = {}): RawProxy {
  return { name, type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, ...extra };
}

/** A udp proxy to 127.0.0.1:`localPort`; the server picks the public port unless `extra` says. */
export function udpProxy(name: string, localPort: number, extra: RawProxy = {}): RawProxy {
  return { name, type: 'udp', localIP: '127.0.0.1', localPort, remotePort: 0, ...extra };
}

/** A visitor of `type` for the secret proxy `serverName`, listening on 127.0.0.1:`bindPort` (negative: no listener). */
export function visitor(
  type: VisitorConfig['type'],
  name: string,
  serverName: string,
  secretKey: string,
  bindPort: number,
  extra: RawVisitor = {},
): RawVisitor {
  return { name, type, serverName, secretKey, bindAddr: '127.0.0.1', bindPort, ...extra };
}

/** A config of the wrong shape on purpose, for a test that the validator refuses it. */
export function invalidConfig<T>(raw: unknown): T {
  return raw as T;
}

/** Runs a config build that must fail and returns its list of problems. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'BURROW_CONFIG_INVALID');
    return err.problems;
  }
  return assert.fail('expected the configuration to be refused');
}
