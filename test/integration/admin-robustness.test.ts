import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClientAdmin } from '../../src/admin/client-api.js';
import { startServerDashboard } from '../../src/admin/server-api.js';
import { BurrowClient } from '../../src/client/client.js';
import { loadClientConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/util/logger.js';
import { vhostRequest } from '../helpers/http.js';
import { startServer, TOKEN, waitFor } from '../helpers/tunnel.js';

/** Writes `text` on a fresh connection and returns the status line of the answer ('' when the server hung up without one). */
async function rawStatusLine(port: number, text: string): Promise<string> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString('latin1')));
  s.on('error', () => {});
  s.end(text);
  await once(s, 'close');
  return got.split('\r\n')[0] ?? '';
}

/** Sends `text` and resets the connection (RST) once `afterBytes` of the answer arrived, or at once. */
async function sendThenReset(port: number, text: string, afterBytes = 0): Promise<void> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.on('error', () => {});
  s.write(text);
  if (afterBytes > 0) {
    let got = 0;
    await new Promise<void>((resolve) =>
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= afterBytes) resolve();
      }),
    );
  }
  s.resetAndDestroy();
  await once(s, 'close');
}

test('admin API and dashboard answer a request target that is not a URL with 400 and keep serving', async () => {
  const server = await startServer();
  const dashboard = await startServerDashboard({ server, addr: '127.0.0.1', port: 0, user: '', password: '', enablePrometheus: false, logger: silentLogger });
  const client = new BurrowClient(loadClientConfig(writeConfig(server.port)), silentLogger);
  const admin = await startClientAdmin({ client, addr: '127.0.0.1', port: 0, user: '', password: '', logger: silentLogger, stop: () => {} });
  try {
    for (const port of [admin.port, dashboard.port]) {
      for (const target of ['http://[x', 'http://:99999/api/status']) {
        assert.match(await rawStatusLine(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /, target);
      }
      assert.equal((await vhostRequest(port, `127.0.0.1:${port}`, '/healthz')).status, 200, 'still serving');
    }
  } finally {
    client.stop();
    await admin.close();
    await dashboard.close();
    await server.stop();
  }
});

function writeConfig(serverPort: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'burrow-robust-')), 'frpc.toml');
  writeFileSync(file, `serverAddr = "127.0.0.1"\nserverPort = ${serverPort}\nauth.token = "${TOKEN}"\n`);
  return file;
}

test('client admin: peers that reset mid-body, mid-answer, during the auth pause or on the live stream do not hurt it', async () => {
  const server = await startServer();
  const file = writeConfig(server.port);
  const before = readFileSync(file, 'utf8');
  const client = new BurrowClient(loadClientConfig(file), silentLogger);
  const admin = await startClientAdmin({
    client,
    configFile: file,
    addr: '127.0.0.1',
    port: 0,
    user: 'u',
    password: 'p',
    logger: silentLogger,
    stop: () => {},
  });
  const host = `127.0.0.1:${admin.port}`;
  const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
  const store = client.inspector.store;
  try {
    await client.start();
    // Half a body, then a reset: nothing is written.
    await sendThenReset(
      admin.port,
      `PUT /api/config HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${basic}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nserverAddr = `,
    );
    // A wrong password, then a reset during the pause before the 401.
    await sendThenReset(admin.port, `GET /api/status HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Basic eDp5\r\n\r\n`);
    // The live stream: reset once its first bytes arrived; its listeners go away.
    const listenersBefore = store.listenerCount('added');
    await sendThenReset(admin.port, `GET /api/requests/live HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${basic}\r\n\r\n`, 1);
    await waitFor(() => store.listenerCount('added') === listenersBefore, 'the live stream to let go of the store');
    // A reset while a large answer is still being written (the page's script).
    await sendThenReset(admin.port, `GET /static/inspect.js HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 1);

    const ok = await vhostRequest(admin.port, host, '/api/status', { headers: { authorization: basic } });
    assert.equal(ok.status, 200, 'still serving');
    assert.equal(readFileSync(file, 'utf8'), before, 'the half-sent config was not written');
  } finally {
    client.stop();
    await admin.close();
    await server.stop();
  }
});
