import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { clientConfig } from '../helpers/config.js';
import { portOf, tcpProxy, tunnelKit, waitFor } from '../helpers/tunnel.js';

test('reload keeps an unchanged tunnel and its open connection, closes a removed one, adds a new one', async (t) => {
  const { startEcho, startServer, makeClient } = tunnelKit(t);
  const echo = await startEcho();
  const server = await startServer();
  const client = makeClient(server.port, { proxies: [tcpProxy('keep', echo.port), tcpProxy('drop', echo.port), tcpProxy('change', echo.port)] });
  await client.start();
  const keepPort = portOf((await client.waitForProxy('keep')).remoteAddr);
  const dropPort = portOf((await client.waitForProxy('drop')).remoteAddr);
  await client.waitForProxy('change');

  // A connection through "keep" stays open across the reload.
  const open = connect({ host: '127.0.0.1', port: keepPort });
  await once(open, 'connect');
  open.write('before ');
  await once(open, 'data');

  const next = clientConfig(server.port, {
    proxies: [tcpProxy('keep', echo.port), tcpProxy('change', echo.port, { transport: { useEncryption: true } }), tcpProxy('added', echo.port)],
  });
  const diff = client.reload(next);
  assert.deepEqual(diff, { added: ['added'], removed: ['drop'], changed: ['change'] });
  await client.waitForProxy('added');
  await client.waitForProxy('change');
  assert.equal(client.status('drop'), undefined);
  await waitFor(() => server.findProxy('drop') === undefined, 'the server to close "drop"');

  // The removed proxy's port is closed...
  const refused = connect({ host: '127.0.0.1', port: dropPort });
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  // ...while the connection opened before the reload still carries bytes.
  const back = once(open, 'data');
  open.write('after');
  assert.equal(((await back) as [Buffer])[0].toString(), 'after');
  assert.equal(server.clients.length, 1, 'the control connection was not dropped');

  open.destroy();
  client.stop();
  await server.stop();
  await echo.close();
});
