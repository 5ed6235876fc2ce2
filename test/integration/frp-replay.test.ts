import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeMessage } from '../../src/protocol/codec.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import { deriveCipherKey } from '../../src/protocol/crypto.js';
import { BURROW_FEATURES } from '../../src/protocol/burrow-features.js';
import type { Message, MessageType } from '../../src/protocol/messages.js';
import { withTimeout } from '../../src/util/timeout.js';
import { FRP_COMPAT_VERSION } from '../../src/util/version.js';
import {
  PeerReader,
  cipherSpans,
  decryptMessages,
  dialLogical,
  listenLogical,
  loadRecording,
  logicalConnections,
  patchRunId,
  payloadDecoder,
  payloadPlaintext,
  recordedRemotePort,
  splitFirstFrame,
  type FirstFrame,
  type LogicalConn,
  type PayloadOptions,
  type Recording,
} from '../helpers/recorded-peer.js';
import { makeClient, startEcho, startServer, tcpProxy } from '../helpers/tunnel.js';

/**
 * Wire compatibility with the real thing: burrow's client talks to a fake frps
 * that answers with the bytes a stock frps 0.70.0 sent, and burrow's server
 * is fed the bytes a stock frpc 0.70.0 sent (test/fixtures/frp-0.70.0). The
 * recorded ciphertext was made with frp's own IVs, so our side must decrypt
 * the reference's streams, not just its own.
 */

const TOKEN = 'abc';
const KEY = deriveCipherKey(TOKEN);
/** Bound of each single wait; each test as a whole is bounded by its `timeout`. */
const WAIT_MS = 10_000;
const TEST_TIMEOUT = { timeout: 20_000 };

/** What the tests need from one recording, decoded once. */
interface Scenario {
  rec: Recording;
  tcpMux: boolean;
  payload: PayloadOptions;
  remotePort: number;
  control: LogicalConn;
  login: FirstFrame;
  loginResp: FirstFrame;
  recordedRunId: string;
  /** work connections that carried a visitor */
  used: LogicalConn[];
  /** work connections that stayed in the pool (only NewWorkConn) */
  spare: LogicalConn[];
}

function scenario(file: string): Scenario {
  const rec = loadRecording(file);
  const conns = logicalConnections(rec);
  const control = conns[0];
  const login = splitFirstFrame(control.c2s);
  const loginResp = splitFirstFrame(control.s2c);
  assert.equal(login.message.type, 'Login');
  assert.ok(loginResp.message.type === 'LoginResp');
  const work = conns.slice(1);
  return {
    rec,
    tcpMux: rec.scenario.tcpMux,
    payload: { key: rec.scenario.useEncryption ? KEY : undefined, compression: rec.scenario.useCompression },
    remotePort: recordedRemotePort(rec),
    control,
    login,
    loginResp,
    recordedRunId: loginResp.message.body.run_id ?? '',
    used: work.filter((w) => w.s2c.length > 0),
    spare: work.filter((w) => w.s2c.length === 0),
  };
}

function count(messages: Message[], type: MessageType): number {
  return messages.filter((m) => m.type === type).length;
}

const FILES = ['tcp-plain.json', 'tcp-plain-encrypted-compressed.json', 'tcp-yamux.json'];

describe('burrow client against a recorded frps 0.70.0', () => {
  for (const file of FILES) {
    test(`${file}: login, proxy registration and two work connections replay`, TEST_TIMEOUT, async () => {
      const s = scenario(file);
      const { useEncryption, useCompression } = s.rec.scenario;
      const recordedS2c = cipherSpans(s.loginResp.rest, KEY);
      const recordedC2s = decryptMessages(s.login.rest, KEY);
      const recordedNewProxy = recordedC2s.find((m) => m.type === 'NewProxy');
      assert.ok(recordedNewProxy, 'the recording holds a NewProxy');
      const reqWorkConns = count(
        recordedS2c.map((sp) => sp.message),
        'ReqWorkConn',
      );

      const echo = await startEcho();
      const fake = await listenLogical(s.tcpMux);
      const client = makeClient(fake.port, {
        token: TOKEN,
        tcpMux: s.tcpMux,
        tls: false,
        proxies: [tcpProxy('echo', echo.port, { remotePort: s.remotePort, transport: { useEncryption, useCompression } })],
        extra: { user: 'nas' },
      });
      try {
        const started = client.start();
        started.catch(() => {});

        // --- control: our Login
        const control = await fake.next(WAIT_MS, 'the control connection');
        const controlReader = new PeerReader(control);
        const login = await controlReader.frame(WAIT_MS, 'Login');
        assert.ok(login.message.type === 'Login', `first message is ${login.message.type}`);
        const body = login.message.body;
        assert.equal(body.version, FRP_COMPAT_VERSION);
        assert.equal(body.user, 'nas');
        assert.ok(Number.isSafeInteger(body.timestamp), 'timestamp is integer seconds');
        assert.equal(body.privilege_key, tokenDigest(TOKEN, body.timestamp ?? 0));
        assert.equal(body.pool_count, 1);
        assert.match(login.rawBody, /"client_spec":\{\}/);
        // Same keys in the same order as the reference frpc writes them, then burrow's one own key (frps ignores it).
        assert.deepEqual(Object.keys(JSON.parse(login.rawBody) as object), [...Object.keys(JSON.parse(s.login.rawBody) as object), 'burrow_features']);
        assert.deepEqual(body.burrow_features, [BURROW_FEATURES.wholeDatagrams]);

        // --- control: the recorded answer, held back at NewProxyResp until our NewProxy arrives
        const respAt = recordedS2c.find((sp) => sp.message.type === 'NewProxyResp');
        assert.ok(respAt, 'the recording holds a NewProxyResp');
        control.write(s.control.s2c.subarray(0, s.loginResp.frame.length + respAt.start));
        await started;
        controlReader.startControl(KEY);
        for (;;) {
          const msg = await controlReader.message(WAIT_MS, 'NewProxy from our client');
          if (msg.type === 'NewProxy') {
            // Byte-exact with the reference's NewProxy for the same proxy settings.
            assert.ok(encodeMessage(msg).equals(encodeMessage(recordedNewProxy)), `NewProxy differs: ${JSON.stringify(msg.body)}`);
            break;
          }
          assert.deepEqual(msg, { type: 'Ping', body: {} }, `unexpected ${msg.type} before NewProxy`);
        }
        control.write(s.control.s2c.subarray(s.loginResp.frame.length + respAt.start));
        const status = await withTimeout(client.waitForProxy('echo'), WAIT_MS, 'proxy echo running');
        assert.equal(status.phase, 'running');
        assert.equal(status.remoteAddr, `:${s.remotePort}`);

        // --- work connections: one per recorded ReqWorkConn
        assert.equal(reqWorkConns, s.used.length + s.spare.length);
        const works: { work: Duplex; reader: PeerReader }[] = [];
        for (let i = 0; i < reqWorkConns; i++) {
          const work = await fake.next(WAIT_MS, `work connection ${i + 1}`);
          const reader = new PeerReader(work);
          const hello = await reader.frame(WAIT_MS, 'NewWorkConn');
          assert.deepEqual(hello.message, { type: 'NewWorkConn', body: { run_id: s.recordedRunId } });
          // Byte-exact with the reference's NewWorkConn (same run_id, no auth scopes).
          assert.ok(hello.frame.equals(splitFirstFrame(s.used[0].c2s).frame));
          works.push({ work, reader });
        }

        await Promise.all(
          s.used.map(async (recorded, i) => {
            const { work, reader } = works[i];
            const afterHello = splitFirstFrame(recorded.c2s).rest;
            // Untransformed this is the reference's c2s bytes exactly; transformed, their plaintext
            // (our IV and snappy chunking differ from frpc's, legitimately).
            const expected = payloadPlaintext(afterHello, s.payload);
            reader.startPayload(payloadDecoder(s.payload));
            work.write(recorded.s2c); // StartWorkConn, then the visitor's bytes as frps relayed them
            const back = await reader.payloadAtLeast(expected.length, WAIT_MS, `the echo on work connection ${i + 1}`);
            assert.ok(back.equals(expected), `work connection ${i + 1}: echoed payload differs`);
            // A half-close travels through our client and the echo service back to us.
            work.end();
            const all = await reader.payloadEnd(WAIT_MS, `work connection ${i + 1}`);
            assert.ok(all.equals(expected), `work connection ${i + 1}: ${all.length - expected.length} bytes after the echo`);
          }),
        );
        // The spare pooled connection got nothing and sent nothing beyond NewWorkConn.
        for (let i = s.used.length; i < works.length; i++) assert.equal(works[i].reader.pendingLength, 0);
      } finally {
        client.stop();
        await fake.close();
        await echo.close();
      }
    });
  }
});

describe('burrow server against a recorded frpc 0.70.0', () => {
  for (const file of FILES) {
    test(`${file}: login, NewProxy, a work connection and a visitor replay`, TEST_TIMEOUT, async (t) => {
      const s = scenario(file);
      const recordedC2s = decryptMessages(s.login.rest, KEY);
      const expectPongs = count(recordedC2s, 'Ping');
      // The recording's Login carries the time it was made: the replay window is off here.
      const server = await startServer({ auth: { token: TOKEN, maxClockSkew: 0 }, transport: { tcpMux: s.tcpMux } });
      const link = await dialLogical(server.port, s.tcpMux);
      try {
        // --- control: the recorded Login, then the recorded encrypted NewProxy (and Ping)
        const control = await link.open();
        const reader = new PeerReader(control);
        control.write(s.login.frame);
        const resp = await reader.frame(WAIT_MS, 'LoginResp');
        assert.ok(resp.message.type === 'LoginResp', `first answer is ${resp.message.type}`);
        assert.equal(resp.message.body.error, undefined, `login refused: ${resp.message.body.error ?? ''}`);
        const runId = resp.message.body.run_id ?? '';
        assert.match(runId, /^[0-9a-f]{16}$/);
        assert.equal(resp.message.body.version, FRP_COMPAT_VERSION);
        // Byte-exact with frps's LoginResp but for the version and run_id values.
        assert.equal(resp.rawBody, s.loginResp.rawBody.replace('"0.70.0"', JSON.stringify(FRP_COMPAT_VERSION)).replace(s.recordedRunId, runId));
        control.write(s.login.rest);

        reader.startControl(KEY);
        const seen: Message[] = [];
        while (!(count(seen, 'NewProxyResp') === 1 && count(seen, 'Pong') === expectPongs && count(seen, 'ReqWorkConn') >= 1)) {
          seen.push(await reader.message(WAIT_MS, `control answers (so far ${seen.map((m) => m.type).join(', ')})`));
        }
        assert.deepEqual(
          seen.filter((m) => !['NewProxyResp', 'Pong', 'ReqWorkConn'].includes(m.type)),
          [],
          'only NewProxyResp, Pong and ReqWorkConn are expected',
        );
        assert.equal(count(seen, 'ReqWorkConn'), 1, 'pool_count 1: one ReqWorkConn at login');
        assert.equal(count(seen, 'Pong'), expectPongs);
        const proxyResp = seen.find((m) => m.type === 'NewProxyResp');
        assert.ok(proxyResp?.type === 'NewProxyResp');
        assert.equal(proxyResp.body.proxy_name, 'nas.echo');
        if (proxyResp.body.error !== undefined && /already in use/.test(proxyResp.body.error)) {
          // The recording dictates the port; on this machine it is taken, which is a valid answer.
          t.skip(`remote port ${s.remotePort} is busy here: ${proxyResp.body.error}`);
          return;
        }
        assert.deepEqual(proxyResp.body, { proxy_name: 'nas.echo', remote_addr: `:${s.remotePort}` });

        // --- the recorded work connection, run_id patched to ours
        const recorded = s.used[0];
        const hello = splitFirstFrame(recorded.c2s);
        const work = await link.open();
        const workReader = new PeerReader(work);
        work.write(patchRunId(hello.frame, s.recordedRunId, runId));

        const visitor = connect({ host: '127.0.0.1', port: s.remotePort, allowHalfOpen: true });
        visitor.on('error', () => {});
        try {
          await withTimeout(once(visitor, 'connect'), WAIT_MS, 'the visitor connecting');
          const visitorReader = new PeerReader(visitor);
          visitorReader.startPayload();

          const start = await workReader.frame(WAIT_MS, 'StartWorkConn');
          assert.deepEqual(start.message, {
            type: 'StartWorkConn',
            body: { proxy_name: 'nas.echo', src_addr: '127.0.0.1', dst_addr: '127.0.0.1', src_port: visitor.localPort, dst_port: s.remotePort },
          });
          const recordedStart = splitFirstFrame(recorded.s2c);
          // Byte-exact with frps's StartWorkConn but for the visitor's source port.
          assert.equal(start.rawBody, recordedStart.rawBody.replace(/"src_port":\d+/, `"src_port":${visitor.localPort}`));
          // Handing out the pooled connection asks the client for the next one.
          assert.deepEqual(await reader.message(WAIT_MS, 'ReqWorkConn after the visitor'), { type: 'ReqWorkConn', body: {} });

          // visitor -> work connection: the visitor's bytes as the recorded frps received them
          workReader.startPayload(payloadDecoder(s.payload));
          const fromVisitor = payloadPlaintext(recordedStart.rest, s.payload);
          visitor.write(fromVisitor);
          const relayed = await workReader.payloadAtLeast(fromVisitor.length, WAIT_MS, 'the visitor bytes on the work connection');
          assert.ok(relayed.equals(fromVisitor), 'visitor bytes differ on the work connection');

          // work connection -> visitor: the reference frpc's own bytes (its IV and snappy framing when transformed)
          work.write(hello.rest);
          const toVisitor = payloadPlaintext(hello.rest, s.payload);
          const received = await visitorReader.payloadAtLeast(toVisitor.length, WAIT_MS, 'the recorded frpc bytes at the visitor');
          assert.ok(received.equals(toVisitor), 'frpc bytes differ at the visitor');

          // Half-closes pass both ways and nothing extra arrives.
          visitor.end();
          assert.ok((await workReader.payloadEnd(WAIT_MS, 'the work connection')).equals(fromVisitor));
          work.end();
          assert.ok((await visitorReader.payloadEnd(WAIT_MS, 'the visitor connection')).equals(toVisitor));
        } finally {
          visitor.destroy();
        }
      } finally {
        link.close();
        await server.stop();
      }
    });
  }
});
