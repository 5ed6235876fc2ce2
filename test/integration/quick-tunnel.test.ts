import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import type { LoginResp } from '../../src/protocol/messages.js';
import { LiveView, followClient } from '../../src/cli/live-view.js';
import { proxyName, publicUrl, quickProxy, type QuickTunnelSpec, watchNameClashes } from '../../src/cli/quick-tunnel.js';
import { buildClientConfig } from '../../src/config/load.js';
import { BurrowClient } from '../../src/client/client.js';
import { vhostRequest } from '../helpers/http.js';
import { dialLogical } from '../helpers/recorded-peer.js';
import { freePort, testLogger, TOKEN, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/** A Login as a stock frpc sends it (no burrow_features) or as burrow's client does; the LoginResp as it came. */
async function loginResp(port: number, features: string[] | undefined): Promise<LoginResp> {
  const dialer = await dialLogical(port, true);
  try {
    const stream = await dialer.open();
    const timestamp = Math.floor(Date.now() / 1000);
    await writeMessage(stream, {
      type: 'Login',
      body: { version: '0.70.1', privilege_key: tokenDigest(TOKEN, timestamp), timestamp, ...(features ? { burrow_features: features } : {}) },
    });
    return await expectMessage(stream, 'LoginResp', 5000);
  } finally {
    dialer.close();
  }
}

/** A terminal as the live view sees one; everything written kept. */
class FakeTty extends EventEmitter {
  readonly isTTY = true;
  readonly columns = 120;
  readonly rows = 30;
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

function quickClient(
  serverPort: number,
  spec: QuickTunnelSpec,
  label: string | undefined,
): { client: BurrowClient; configFor: (l: string) => ReturnType<typeof buildClientConfig> } {
  const configFor = (l: string | undefined) =>
    buildClientConfig(
      {
        serverAddr: '127.0.0.1',
        serverPort,
        auth: { token: TOKEN },
        transport: { tls: { enable: false } },
        proxies: [quickProxy(spec, l)],
      },
      'test',
    );
  return { client: new BurrowClient(configFor(label), testLogger('quick'), { proxyRetry: { firstMs: 60_000 } }), configFor };
}

describe('burrow http against a real server', () => {
  test('a burrow server describes its public side to a burrow client only; frpc gets the fields frps sends', async (t) => {
    const { startServer } = tunnelKit(t);
    const vhostPort = await freePort();
    const server = await startServer({ vhostHTTPPort: vhostPort, subDomainHost: 't.localhost' });
    const burrow = await loginResp(server.port, ['udp-whole']);
    assert.deepEqual(burrow.burrow_server, { features: ['sso'], subdomain_host: 't.localhost', vhost_http_port: vhostPort });
    const frpc = await loginResp(server.port, undefined);
    assert.deepEqual(Object.keys(frpc).sort(), ['run_id', 'version']);

    const { client } = quickClient(server.port, { kind: 'tcp', localIP: '127.0.0.1', localPort: 9 }, undefined);
    whenDone(t, () => client.stop());
    await client.start();
    assert.deepEqual(client.serverInfo, { features: ['sso'], subdomain_host: 't.localhost', vhost_http_port: vhostPort });
  });

  test('a taken name is replaced by a fresh one; the live view shows the URL and a real request through the server', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const vhostPort = await freePort();
    const server = await startServer({ vhostHTTPPort: vhostPort, subDomainHost: 't.localhost' });
    const web = createServer((req, res) => res.end(`local saw ${req.method} ${req.url}`));
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    whenDone(t, () => web.close());
    const webPort = (web.address() as AddressInfo).port;

    // Another client already holds the names (and proxy names) the first two draws give.
    const spec: QuickTunnelSpec = { kind: 'http', localIP: '127.0.0.1', localPort: webPort, inspect: true };
    const holder = makeClient(server.port, { tls: false, proxies: [quickProxy(spec, 'taken') as never, quickProxy(spec, 'taken2') as never] });
    await holder.start();
    await holder.waitForProxy(proxyName(spec, 'taken'));
    await holder.waitForProxy(proxyName(spec, 'taken2'));

    const { client, configFor } = quickClient(server.port, spec, 'taken');
    whenDone(t, () => client.stop());
    const draws = ['taken2', 'fresh'];
    const tty = new FakeTty();
    const view = new LiveView(
      tty,
      { kind: 'http', connection: 'connecting', detail: '', server: `127.0.0.1:${server.port}`, url: '', local: `127.0.0.1:${webPort}`, inspect: '' },
      {},
    );
    whenDone(t, () => view.close());
    const names = watchNameClashes(
      client,
      spec,
      'taken',
      (label) => client.reload(configFor(label)),
      (reason) => assert.fail(reason),
      () => draws.shift() ?? assert.fail('more than two draws'),
    );
    followClient(view, client, names.current, (s) => publicUrl('http', s.remoteAddr, '127.0.0.1'));
    await client.start();
    await waitFor(() => client.status('http-fresh')?.phase === 'running', 'the third name to run');
    assert.equal(names.current(), 'http-fresh');
    assert.equal(client.status('http-taken'), undefined, 'the refused names are gone');
    assert.equal(client.status('http-taken2'), undefined);
    assert.deepEqual(draws, []);
    await waitFor(() => view.current.url !== '', 'the URL in the view');
    assert.equal(view.current.url, `http://fresh.t.localhost:${vhostPort}`);

    const answer = await vhostRequest(vhostPort, 'fresh.t.localhost', '/hook?x=1', { method: 'POST', body: 'ping' });
    assert.equal(answer.body.toString(), 'local saw POST /hook?x=1');
    await waitFor(() => /POST +\/hook\?x=1 +.*200 OK/.test(tty.text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')), 'the request on the screen');
    assert.match(tty.text, /Forwarding +http:\/\/fresh\.t\.localhost:\d+ -> 127\.0\.0\.1:\d+/);
    assert.equal(view.current.total, 1);
    assert.doesNotMatch(tty.text, /tunnel refused/, 'the clash is handled, not shown');
  });
});
