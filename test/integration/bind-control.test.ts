import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { writeMessage, expectMessage } from '../../src/control/message-io.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { YamuxSession } from '../../src/mux/session.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { CfbEncryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import { rawLogin } from '../helpers/raw-client.js';
import { captureLog, startServer, TOKEN, waitFor } from '../helpers/tunnel.js';

describe('bind port: the control connection', () => {
  for (const type of ['stcp', 'sudp', 'xtcp'] as const) {
    test(`a ${type} proxy with an empty secret key is refused, naming secretKey`, async () => {
      const server = await startServer();
      const c = await rawLogin(server.port);
      const resp = await c.newProxy({ proxy_name: `open-${type}`, proxy_type: type, sk: '' });
      assert.match((resp.body as { error?: string }).error ?? '', /secretKey \(sk\) must not be empty/);
      assert.equal(server.findProxy(`open-${type}`), undefined);
      const ok = await c.newProxy({ proxy_name: `closed-${type}`, proxy_type: type, sk: 'k' });
      assert.equal((ok.body as { error?: string }).error ?? '', '');
      c.close();
      await server.stop();
    });
  }

  test('a client that sends Pings and never reads its control is cut off at limits.controlQueueBytes', async () => {
    const log = captureLog();
    const server = await startServer({ limits: { controlQueueBytes: 64 * 1024 } }, log.logger);
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    // The smallest window we may grant, so the server's unread Pongs queue on its side soon.
    const session = new YamuxSession(socket, { client: true, keepaliveIntervalMs: 0, maxStreamWindow: 256 * 1024 });
    session.on('close', () => {});
    const stream = session.open();
    stream.on('error', () => {});
    const ts = Math.floor(Date.now() / 1000);
    await writeMessage(stream, { type: 'Login', body: { version: '0.70.1', privilege_key: tokenDigest(TOKEN, ts), timestamp: ts, pool_count: 0 } });
    await expectMessage(stream, 'LoginResp', 5000);
    await waitFor(() => server.clients.length === 1, 'the login');
    // Encrypted Pings written by hand: nothing ever reads this stream again.
    const encryptor = new CfbEncryptor(deriveCipherKey(TOKEN));
    const control = { send: (msg: Message) => stream.write(encryptor.update(encodeMessage(msg))) };
    let sent = 0;
    while (server.clients.length === 1 && sent < 200_000) {
      for (let i = 0; i < 500; i++) control.send({ type: 'Ping', body: {} });
      sent += 500;
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => server.clients.length === 0, 'the server to drop the control');
    await log.waitForLine(/does not read its control connection/);
    assert.ok(sent < 200_000, `dropped after ${sent} pings`);
    session.destroy();
    await server.stop();
  });
});
