import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { ClientConfig } from '../config/types.js';
import { type ControlCipher, v1ControlCipher, v2ControlCipher } from '../control/control-cipher.js';
import { expectMessage, readOne, writeMessage } from '../control/message-io.js';
import { markWire } from '../control/wire-mark.js';
import { BURROW_FEATURES } from '../protocol/burrow-features.js';
import { deriveCipherKey } from '../protocol/crypto.js';
import { V2FrameDecoder, V2FrameType, V2_MAGIC, encodeV2Frame } from '../protocol/wire-v2.js';
import { acceptServerHello, encodeClientHello } from '../protocol/wire-v2-hello.js';
import type { LoginResp } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import type { SignedFields } from './auth/client-auth.js';

/** frpc waits 10 s for LoginResp. */
const LOGIN_TIMEOUT_MS = 10_000;

const GO_OS: Partial<Record<NodeJS.Platform, string>> = { win32: 'windows' };
const GO_ARCH: Partial<Record<string, string>> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };

/** A login the server accepted, and the cipher the control connection continues in. */
export interface LoggedIn {
  readonly resp: LoginResp;
  readonly cipher: ControlCipher;
}

/**
 * The login exchange, top to bottom: (v2: magic and ClientHello first) send
 * Login (plaintext), (v2: read the ServerHello) read LoginResp (plaintext),
 * all within one bounded wait; refuse on an error string. The caller then
 * wraps the stream in the returned control cipher.
 */
export async function login(
  stream: Duplex,
  config: ClientConfig,
  credential: Required<SignedFields>,
  previousRunId: string,
  alwaysAuthPass = false,
  /** shared by the sessions of one client to several nodes (serverAddrs); '' for one session */
  sessionGroup = '',
): Promise<LoggedIn> {
  const deadline = Date.now() + LOGIN_TIMEOUT_MS;
  const left = (): number => Math.max(1, deadline - Date.now());
  const v2 = config.transport.wireProtocol === 'v2';
  let clientHello: Buffer | undefined;
  if (v2) {
    const t = config.transport;
    clientHello = encodeClientHello({ transport: t.protocol, tls: t.tls.enable || t.protocol === 'wss' || t.protocol === 'quic', tcpMux: t.tcpMux });
    // As frpc: magic, hello and Login go out without waiting for an answer.
    markWire(stream, 'v2');
    stream.write(Buffer.concat([V2_MAGIC, encodeV2Frame(V2FrameType.ClientHello, clientHello)]));
  }
  await writeMessage(stream, {
    type: 'Login',
    body: {
      version: FRP_COMPAT_VERSION,
      hostname: hostname(),
      os: GO_OS[process.platform] ?? process.platform,
      arch: GO_ARCH[process.arch] ?? process.arch,
      user: config.user,
      privilege_key: credential.privilege_key,
      timestamp: credential.timestamp,
      run_id: previousRunId,
      client_id: config.clientID,
      metas: config.metadatas,
      client_spec: alwaysAuthPass ? { always_auth_pass: true } : {},
      pool_count: config.transport.poolCount,
      // burrow's own key (stock frps ignores it): our udp/sudp streams read whole datagrams.
      burrow_features: [BURROW_FEATURES.wholeDatagrams],
      burrow_session_group: sessionGroup,
    },
  });
  let cipher: ControlCipher;
  if (clientHello) {
    const frame = await readOne(stream, new V2FrameDecoder(), left(), 'ServerHello');
    if (frame.type !== V2FrameType.ServerHello) {
      throw new BurrowError('BURROW_LOGIN_FAILED', `unexpected frame type ${frame.type}, want ${V2FrameType.ServerHello} (ServerHello)`);
    }
    cipher = v2ControlCipher(config.auth.token, acceptServerHello(clientHello, frame.payload), 'client');
  } else cipher = v1ControlCipher(deriveCipherKey(config.auth.token));
  const resp = await expectMessage(stream, 'LoginResp', left());
  if (resp.error) throw new BurrowError('BURROW_LOGIN_FAILED', `login to ${config.serverAddr}:${config.serverPort} failed: ${resp.error}`);
  if (!resp.run_id) throw new BurrowError('BURROW_LOGIN_FAILED', 'login failed: the server sent no run_id');
  return { resp, cipher };
}
