/**
 * The config types are derived from the schemas (`ConfigOf` in
 * schema-engine.ts). The type checks below run when the test suite is
 * typechecked; the runtime checks show the engine builds the shape the types say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientConfig } from '../../src/config/load.js';
import type { PROXY_TYPES, VISITOR_TYPES } from '../../src/config/proxy-schema.js';
import type { ConfigOf, SchemaNode } from '../../src/config/schema-engine.js';
import type { ClientConfig, ProxyConfig, ProxyType, ServerConfig, VisitorConfig, VisitorType } from '../../src/config/types.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const holds = <T extends true>(): T | undefined => undefined;

// The lists of types are the `as const` arrays.
holds<Equal<ProxyType, (typeof PROXY_TYPES)[number]>>();
holds<Equal<VisitorType, (typeof VISITOR_TYPES)[number]>>();
holds<Equal<ProxyType, 'tcp' | 'udp' | 'http' | 'https' | 'tcpmux' | 'stcp' | 'sudp' | 'xtcp'>>();

// Each kind maps to its TypeScript type; `optional` and `variant.only` keys are optional properties.
const node = {
  kind: 'object',
  fields: {
    kind: { kind: 'string', oneOf: ['a', 'b'] },
    name: { kind: 'string' },
    n: { kind: 'int' },
    on: { kind: 'bool' },
    tags: { kind: 'stringList' },
    env: { kind: 'stringMap', optional: true },
    onlyA: { kind: 'int' },
    items: { kind: 'list', item: { kind: 'object', fields: { x: { kind: 'bool' } } } },
  },
  variant: { key: 'kind', label: 'kind', only: { onlyA: ['a'] } },
} as const satisfies SchemaNode;
holds<
  Equal<
    ConfigOf<typeof node>,
    { kind: 'a' | 'b'; name: string; n: number; on: boolean; tags: string[]; items: { x: boolean }[]; env?: Record<string, string>; onlyA?: number }
  >
>();

// remotePort is the one documented exception: always present after load.
holds<Equal<ProxyConfig['remotePort'], number>>();
holds<Equal<Pick<ProxyConfig, 'customDomains'>, { customDomains?: string[] }>>();
holds<Equal<ClientConfig['proxies'], ProxyConfig[]>>();
holds<Equal<Pick<VisitorConfig, 'protocol'>, { protocol?: 'quic' | 'kcp' }>>();
holds<Equal<ServerConfig['auth']['additionalScopes'], ('HeartBeats' | 'NewWorkConns')[]>>();

test('a loaded proxy has the keys its type accepts, remotePort always', () => {
  const cfg = buildClientConfig({
    proxies: [
      { name: 'ssh', type: 'tcp', localPort: 22 },
      { name: 'web', type: 'http', localPort: 80, customDomains: ['example.test'] },
    ],
  });
  const [tcp, http] = cfg.proxies;
  assert.equal(tcp?.remotePort, 0);
  assert.equal(tcp && 'customDomains' in tcp, false);
  assert.equal(http?.remotePort, 0);
  assert.deepEqual(http?.customDomains, ['example.test']);
  assert.equal(http?.subdomain, '');
});
