import { test, type TestContext } from 'node:test';
import { createSocket } from 'node:dgram';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The library as a user imports it: the built entry of package.json, reached by the package's name. */
const PACKAGE_NAME = 'burrow-tunnel';
const BUILT_ENTRY = join(import.meta.dirname, '..', '..', 'dist', 'index.js');

// The types come from the source; the values from the build, so the test sees what is published.
type Api = typeof import('../../src/index.js');

async function loadEntry(): Promise<Api> {
  // A variable, not a literal: the typecheck must not need dist/ to exist.
  const name: string = PACKAGE_NAME;
  return (await import(name)) as Api;
}

function readOne(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
    socket.once('end', () => reject(new Error('the tunnel closed before the byte came back')));
  });
}

test('package entry: the name resolves to the built index, which runs a server and a client through a tcp tunnel', async (t) => {
  assert.ok(existsSync(BUILT_ENTRY), `${BUILT_ENTRY} is missing: run npm run build first`);
  assert.equal(import.meta.resolve(PACKAGE_NAME), pathToFileURL(BUILT_ENTRY).href, 'package.json exports "." points at dist/index.js');
  const api = await loadEntry();
  for (const name of [
    'BurrowServer',
    'BurrowClient',
    'loadServerConfig',
    'loadClientConfig',
    'buildServerConfig',
    'buildClientConfig',
    'BurrowError',
    'ConfigError',
  ] as const) {
    assert.equal(typeof api[name], 'function', `${name} is exported`);
  }

  await carriesAByte(t, api, 'tcp');
});

test("package entry: the built QUIC transport loads its native module under Node's own loader and carries a tunnel", async (t) => {
  await carriesAByte(t, await loadEntry(), 'quic');
});

/** The built server and client carry one byte through a tcp proxy over `protocol` (the native QUIC module included). */
async function carriesAByte(t: TestContext, api: Api, protocol: 'tcp' | 'quic'): Promise<void> {
  const service = createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
  await once(service, 'listening');
  t.after(() => service.close());
  const localPort = (service.address() as AddressInfo).port;

  const token = 'package-entry';
  const quic = protocol === 'quic' ? await freeUdpPort() : 0;
  const server = new api.BurrowServer(api.buildServerConfig({ bindAddr: '127.0.0.1', bindPort: 0, quicBindPort: quic, auth: { token } }));
  await server.start();
  t.after(() => server.stop());
  const client = new api.BurrowClient(
    api.buildClientConfig({
      serverAddr: '127.0.0.1',
      serverPort: protocol === 'quic' ? quic : server.port,
      transport: { protocol },
      auth: { token },
      proxies: [{ name: 'entry', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0 }],
    }),
  );
  t.after(() => client.stop());
  await client.start();
  const status = await client.waitForProxy('entry');
  const remotePort = Number(status.remoteAddr.slice(status.remoteAddr.lastIndexOf(':') + 1));
  assert.ok(remotePort > 0, `a remote port was given: ${status.remoteAddr}`);

  const visitor = connect(remotePort, '127.0.0.1');
  t.after(() => visitor.destroy());
  await once(visitor, 'connect');
  const answer = readOne(visitor);
  visitor.write(Buffer.from([0x2a]));
  assert.deepEqual(await answer, Buffer.from([0x2a]));
  visitor.end();

  client.stop();
  await server.stop();
  assert.equal(client.state, api.ClientState.Stopped);
  assert.equal(server.state, api.ServerState.Stopped);
}

/** A UDP port the OS picked, released for the server to take (the QUIC port is given before the server starts). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
