import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { writeMessage, expectMessage } from '../../src/control/message-io.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import type { Message } from '../../src/protocol/messages.js';
import { YamuxSession } from '../../src/mux/session.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { CfbEncryptor, deriveCipherKey } from '../../src/protocol/crypto.js';
import { rawLogin } from '../helpers/raw-client.js';
import { dialLogical } from '../helpers/recorded-peer.js';
import { captureLog, TOKEN, tunnelKit, waitFor } from '../helpers/tunnel.js';

/**
 * A client that logs in and then never reads its control: the smallest stream
 * window we may grant, so the server's unread answers queue on its side soon,
 * and control messages encrypted and written by hand.
 */
async function loginWithoutReading(port: number): Promise<{ session: YamuxSession; send: (msg: Message) => boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const session = new YamuxSession(socket, { client: true, keepaliveIntervalMs: 0, maxStreamWindow: 256 * 1024 });
  session.on('close', () => {});
  const stream = session.open();
  stream.on('error', () => {});
  const ts = Math.floor(Date.now() / 1000);
  await writeMessage(stream, { type: 'Login', body: { version: '0.70.1', privilege_key: tokenDigest(TOKEN, ts), timestamp: ts, pool_count: 0 } });
  await expectMessage(stream, 'LoginResp', 5000);
  const encryptor = new CfbEncryptor(deriveCipherKey(TOKEN));
  return { session, send: (msg) => stream.write(encryptor.update(encodeMessage(msg))) };
}

describe('bind port: the control connection', () => {
  test('a proxy without a secret key is accepted as frp does, but its visitors must come over their own logged-in client', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer();
    const owner = await rawLogin(server.port);
    for (const type of ['stcp', 'sudp', 'xtcp'] as const) {
      const resp = await owner.newProxy({ proxy_name: `open-${type}`, proxy_type: type, sk: '' });
      assert.equal((resp.body as { error?: string }).error ?? '', '', type);
    }
    const visit = async (stream: Duplex, runId: string): Promise<string> => {
      const ts = Math.floor(Date.now() / 1000);
      await writeMessage(stream, { type: 'NewVisitorConn', body: { proxy_name: 'open-stcp', run_id: runId, sign_key: tokenDigest('', ts), timestamp: ts } });
      return (await expectMessage(stream, 'NewVisitorConnResp', 5000)).error ?? '';
    };
    // A logged-in visitor, on its own session: accepted.
    const visitor = await rawLogin(server.port);
    assert.equal(await visit(await visitor.dialer.open(), visitor.runId), '');
    // Anyone else can sign md5("" + time): with no run id, or with the visitor's on a session of its own, refused.
    for (const runId of ['', visitor.runId]) {
      const stranger = await dialLogical(server.port, true);
      assert.match(await visit(await stranger.open(), runId), /has no secret key, so its visitors must come over their own logged-in client's connection/);
      stranger.close();
    }
    visitor.close();
    owner.close();
    await server.stop();
  });

  test('a client that sends Pings and never reads its control is cut off at limits.controlQueueBytes', async (t) => {
    const { startServer } = tunnelKit(t);
    const log = captureLog();
    const server = await startServer({ limits: { controlQueueBytes: 64 * 1024 } }, log.logger);
    const { session, send } = await loginWithoutReading(server.port);
    await waitFor(() => server.clients.length === 1, 'the login');
    const control = { send };
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

  test('a NewProxyResp that trips limits.controlQueueBytes releases its proxy with the control', async (t) => {
    const { startServer } = tunnelKit(t);
    const server = await startServer({ limits: { controlQueueBytes: 64 * 1024 } });
    const { session, send } = await loginWithoutReading(server.port);
    await waitFor(() => server.clients.length === 1, 'the login');
    // Reaches into the control to fill its queue to just under the bound, so
    // that the NewProxyResp is the write that crosses it.
    const queued = (): number => (server.clients[0] as unknown as { channel: { stream: { writableLength: number } } }).channel.stream.writableLength;
    while (queued() < 64 * 1024 - 2000) {
      for (let i = 0; i < 50; i++) send({ type: 'Ping', body: {} });
      await new Promise((r) => setTimeout(r, 5));
    }
    const name = `squat-${'x'.repeat(3000)}`;
    send({ type: 'NewProxy', body: { proxy_name: name, proxy_type: 'tcp', remote_port: 0 } });
    await waitFor(() => server.clients.length === 0, 'the server to drop the control');
    await waitFor(() => server.findProxy(name) === undefined, 'the proxy to be released with its control');
    session.destroy();
    await server.stop();
  });
});
