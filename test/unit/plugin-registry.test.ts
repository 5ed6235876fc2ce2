import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_PLUGIN_TYPES } from '../../src/config/proxy-schema.js';
import type { ClientPluginType } from '../../src/config/types.js';
import { connectionInfoFromStart } from '../../src/plugin/connection-info.js';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { type ClientPluginFactory, LoadingPlugin } from '../../src/plugin/loading-plugin.js';
import { CLIENT_PLUGINS, createClientPlugin } from '../../src/plugin/registry.js';
import type { ClientPlugin } from '../../src/plugin/types.js';
import { encodeProxyProtocolHeader } from '../../src/protocol/proxy-protocol.js';
import { servePlugin, testContext } from '../helpers/plugin-harness.js';

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

  it('makes and closes each other plugin, its module loaded on first use', async () => {
    const settings = { localAddr: '127.0.0.1:1', unixPath: '/tmp/none.sock', localPath: '.' };
    for (const type of Object.keys(CLIENT_PLUGINS) as ClientPluginType[]) {
      if (type === 'virtual_net') continue;
      const plugin = createClientPlugin({ type, ...settings }, testContext().context);
      assert.ok(plugin instanceof LoadingPlugin);
      assert.equal(await plugin.ready, true, type);
      await plugin.close();
      await plugin.close();
    }
  });

  it('refuses bad settings when the proxy starts, before the plugin loads', () => {
    const refused = (settings: Parameters<typeof createClientPlugin>[0], field: RegExp): void =>
      assert.throws(
        () => createClientPlugin(settings, testContext().context),
        (err: Error & { code?: string }) => err.code === 'BURROW_CONFIG_INVALID' && field.test(err.message),
      );
    refused({ type: 'static_file' }, /plugin\.localPath/);
    refused({ type: 'unix_domain_socket' }, /plugin\.unixPath/);
    refused({ type: 'http2http', localAddr: 'nowhere' }, /plugin\.localAddr/);
    refused({ type: 'https2http', localAddr: '127.0.0.1:1', crtPath: '/nonexistent.crt', keyPath: '/nonexistent.key' }, /plugin\.crtPath\/keyPath/);
    refused(
      { type: 'tls2raw', localAddr: '127.0.0.1:1', crtPath: fileURLToPath(import.meta.url), keyPath: fileURLToPath(import.meta.url) },
      /do not form a usable certificate/,
    );
  });
});

/** A factory the test settles by hand, and the plugin it makes (an echo by default). */
function heldFactory(handle: (conn: Duplex) => void = (conn) => conn.pipe(conn)): {
  factory: Promise<ClientPluginFactory>;
  settle(ok: boolean): void;
  closed: () => boolean;
} {
  let settle!: (ok: boolean) => void;
  let wasClosed = false;
  const plugin: ClientPlugin = {
    handle,
    close: async () => void (wasClosed = true),
  };
  const factory = new Promise<ClientPluginFactory>((resolve, reject) => {
    settle = (ok) => (ok ? resolve(() => plugin) : reject(new Error('module gone')));
  });
  return { factory, settle, closed: () => wasClosed };
}

async function connectAndSend(port: number, text: string): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(text);
  return sock;
}

/** Resolves when the socket closes, reset or not. */
function closed(sock: net.Socket): Promise<void> {
  sock.on('error', () => {});
  return new Promise((resolve) => sock.once('close', () => resolve()));
}

describe('a plugin whose module is still loading', () => {
  it('holds the connections that arrive first and hands them over, in order, once made', async () => {
    const held = heldFactory();
    const plugin = new LoadingPlugin(held.factory, { type: 'socks5' }, testContext().context);
    const harness = await servePlugin(plugin);
    try {
      const a = await connectAndSend(harness.port, 'first');
      const b = await connectAndSend(harness.port, 'second');
      held.settle(true);
      assert.equal(await plugin.ready, true);
      const [fromA] = (await once(a, 'data')) as [Buffer];
      const [fromB] = (await once(b, 'data')) as [Buffer];
      assert.equal(fromA.toString(), 'first');
      assert.equal(fromB.toString(), 'second');
      a.destroy();
      b.destroy();
    } finally {
      await harness.close();
    }
    assert.equal(held.closed(), true);
  });

  it('closed while loading: waiting connections end, and the plugin made later is closed too', async () => {
    const held = heldFactory();
    const plugin = new LoadingPlugin(held.factory, { type: 'socks5' }, testContext().context);
    const harness = await servePlugin(plugin);
    const sock = await connectAndSend(harness.port, 'hello');
    const ended = closed(sock);
    await plugin.close();
    await ended;
    held.settle(true);
    assert.equal(await plugin.ready, false);
    assert.equal(held.closed(), true);
    await harness.close();
  });

  it('a module that fails to load closes the waiting connections and says why, naming the proxy', async () => {
    const held = heldFactory();
    const { context, lines } = testContext();
    const plugin = new LoadingPlugin(held.factory, { type: 'socks5' }, context);
    const harness = await servePlugin(plugin);
    try {
      const sock = await connectAndSend(harness.port, 'hello');
      const ended = closed(sock);
      held.settle(false);
      assert.equal(await plugin.ready, false);
      await ended;
      assert.ok(
        lines.some((l) => /plugin could not start/.test(l) && /p1/.test(l) && /module gone/.test(l)),
        lines.join('\n'),
      );
      // Later connections are closed at once, and the log says so (not a line per visitor).
      const late = await connectAndSend(harness.port, 'again');
      await closed(late);
      assert.ok(
        lines.some((l) => /connection refused: the proxy's plugin could not start/.test(l) && /p1/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await harness.close();
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

describe('a plugin whose module is still loading: connections that go away, plugins that throw', () => {
  it('a connection closed while waiting is not handed over; the others are', async () => {
    const handed: Duplex[] = [];
    const held = heldFactory((conn) => void handed.push(conn));
    const plugin = new LoadingPlugin(held.factory, { type: 'socks5' }, testContext().context);
    // Two real TCP connections; their accepted ends stand for work connections.
    const accepted: net.Socket[] = [];
    const server = net.createServer((sock) => accepted.push(sock));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const dialled = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    try {
      while (accepted.length < 2) await once(server, 'connection');
      const [gone, stays] = accepted as [net.Socket, net.Socket];
      plugin.handle(gone, {});
      plugin.handle(stays, {});
      const goneClosed = once(gone, 'close');
      gone.destroy();
      await goneClosed;
      held.settle(true);
      assert.equal(await plugin.ready, true);
      assert.deepEqual(handed, [stays]);
    } finally {
      for (const s of [...dialled, ...accepted]) s.destroy();
      await plugin.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a plugin that throws for one handed-over connection ends that one only', async () => {
    let calls = 0;
    const held = heldFactory((conn) => {
      if (++calls === 1) throw new Error('plugin bug');
      conn.pipe(conn);
    });
    const { context, lines } = testContext();
    const plugin = new LoadingPlugin(held.factory, { type: 'socks5' }, context);
    const harness = await servePlugin(plugin);
    try {
      const first = await connectAndSend(harness.port, 'one');
      const firstClosed = closed(first);
      const second = await connectAndSend(harness.port, 'two');
      held.settle(true);
      assert.equal(await plugin.ready, true);
      await firstClosed;
      const [echoed] = (await once(second, 'data')) as [Buffer];
      assert.equal(echoed.toString(), 'two');
      assert.ok(
        lines.some((l) => /plugin refused a connection/.test(l) && /plugin bug/.test(l)),
        lines.join('\n'),
      );
      second.destroy();
    } finally {
      await harness.close();
    }
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
