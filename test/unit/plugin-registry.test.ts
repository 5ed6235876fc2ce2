import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_PLUGIN_TYPES } from '../../src/config/proxy-schema.js';
import type { ClientPluginType } from '../../src/config/types.js';
import { connectionInfoFromStart } from '../../src/plugin/connection-info.js';
import { CLIENT_PLUGINS, createClientPlugin } from '../../src/plugin/registry.js';
import { encodeProxyProtocolHeader } from '../../src/protocol/proxy-protocol.js';
import { testContext } from '../helpers/plugin-harness.js';

describe('plugin registry', () => {
  it('has a factory for every plugin type the config accepts', () => {
    assert.deepEqual(Object.keys(CLIENT_PLUGINS).sort(), [...CLIENT_PLUGIN_TYPES].sort());
  });

  it('refuses virtual_net with a clear error naming plugin.type and why', () => {
    assert.throws(
      () => createClientPlugin({ type: 'virtual_net' }, testContext().context),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'BURROW_CONFIG_INVALID');
        assert.match(err.message, /plugin\.type "virtual_net" is not supported: it needs a TUN device/);
        assert.match(err.message, /proxy p1/);
        return true;
      },
    );
  });

  it('makes and closes each other plugin', async () => {
    const settings = { localAddr: '127.0.0.1:1', unixPath: '/tmp/none.sock', localPath: '.' };
    for (const type of Object.keys(CLIENT_PLUGINS) as ClientPluginType[]) {
      if (type === 'virtual_net') continue;
      const plugin = createClientPlugin({ type, ...settings }, testContext().context);
      await plugin.close();
      await plugin.close();
    }
  });
});

describe('connection info and PROXY protocol', () => {
  it('carries addresses only when src_addr and src_port are both set, as frp', () => {
    assert.deepEqual(connectionInfoFromStart({ src_addr: '1.2.3.4' }), {});
    assert.deepEqual(connectionInfoFromStart({ src_addr: '1.2.3.4', src_port: 5 }), {
      source: { address: '1.2.3.4', port: 5 },
      destination: { address: '127.0.0.1', port: 0 },
    });
  });

  it('writes v1 and v2 headers, IPv4 and IPv6', () => {
    assert.equal(
      encodeProxyProtocolHeader('v1', { address: '1.2.3.4', port: 1 }, { address: '::ffff:5.6.7.8', port: 2 })?.toString(),
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n',
    );
    assert.equal(
      encodeProxyProtocolHeader('v1', { address: '::1', port: 1 }, { address: '1.2.3.4', port: 2 })?.toString(),
      'PROXY TCP6 ::1 ::ffff:1.2.3.4 1 2\r\n',
    );
    const v6 = encodeProxyProtocolHeader('v2', { address: '::1', port: 1 }, { address: '::2', port: 2 });
    assert.equal(v6?.length, 16 + 36);
    assert.equal(v6?.[13], 0x21);
    assert.equal(v6?.readUInt16BE(14), 36);
    assert.equal(encodeProxyProtocolHeader('v2', { address: 'not-an-ip', port: 1 }, { address: '1.2.3.4', port: 2 }), undefined);
  });
});

describe('PROXY protocol headers for udp flows (go-proxyproto as frp uses it)', () => {
  it('v2 uses the UDP codes; v1 has no UDP and sends the short UNKNOWN line', () => {
    const v4 = encodeProxyProtocolHeader('v2', { address: '1.2.3.4', port: 1000 }, { address: '127.0.0.1', port: 53 }, 'udp');
    assert.equal(v4?.toString('hex'), '0d0a0d0a000d0a515549540a' + '2112000c' + '01020304' + '7f000001' + '03e8' + '0035');
    const v6 = encodeProxyProtocolHeader('v2', { address: '::1', port: 1 }, { address: '::1', port: 2 }, 'udp');
    assert.equal(v6?.[13], 0x22);
    assert.equal(encodeProxyProtocolHeader('v1', { address: '1.2.3.4', port: 1 }, { address: '127.0.0.1', port: 2 }, 'udp')?.toString(), 'PROXY UNKNOWN\r\n');
  });
});
