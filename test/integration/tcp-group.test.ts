import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { makeClient, portOf, startServer, tcpProxy, waitFor } from '../helpers/tunnel.js';

/** A TCP service that answers its name to every connection. */
async function namedService(name: string): Promise<Server> {
  const s = createServer((c) => c.end(name));
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function ask(port: number): Promise<string> {
  const c = connect({ host: '127.0.0.1', port });
  let text = '';
  c.on('data', (d: Buffer) => (text += d.toString()));
  await once(c, 'close');
  return text;
}

test('tcp load-balancing group: members share one port, visitors rotate, a wrong key is refused', async () => {
  const a = await namedService('A');
  const b = await namedService('B');
  const server = await startServer();
  const lb = { loadBalancer: { group: 'db', groupKey: 'k' } };
  const ca = makeClient(server.port, { proxies: [tcpProxy('db-a', (a.address() as AddressInfo).port, lb)] });
  const cb = makeClient(server.port, { proxies: [tcpProxy('db-b', (b.address() as AddressInfo).port, lb)] });
  const cx = makeClient(server.port, { proxies: [tcpProxy('db-x', (b.address() as AddressInfo).port, { loadBalancer: { group: 'db', groupKey: 'nope' } })] });
  try {
    await ca.start();
    const port = portOf((await ca.waitForProxy('db-a')).remoteAddr);
    await cb.start();
    assert.equal(portOf((await cb.waitForProxy('db-b')).remoteAddr), port, 'the second member joins the same port');
    await cx.start();
    await assert.rejects(cx.waitForProxy('db-x'), /group \[db\] auth failed/);

    const answers = [await ask(port), await ask(port), await ask(port), await ask(port)];
    assert.deepEqual([...new Set(answers)].sort(), ['A', 'B']);

    ca.stop();
    await waitFor(() => server.findProxy('db-a') === undefined, 'db-a to leave the group');
    assert.deepEqual([await ask(port), await ask(port)], ['B', 'B']);

    cb.stop();
    await waitFor(() => server.findProxy('db-b') === undefined, 'db-b to leave the group');
    const refused = connect({ host: '127.0.0.1', port });
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED', 'the shared port closes with its last member');
  } finally {
    for (const c of [ca, cb, cx]) c.stop();
    await server.stop();
    a.close();
    b.close();
  }
});
