import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { ClientConfig } from '../config/types.js';
import { expectMessage, writeMessage } from '../control/message-io.js';
import { BURROW_FEATURES } from '../protocol/burrow-features.js';
import type { LoginResp } from '../protocol/messages.js';
import { BurrowError } from '../util/errors.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import type { SignedFields } from './auth/client-auth.js';

/** frpc waits 10 s for LoginResp. */
const LOGIN_TIMEOUT_MS = 10_000;

const GO_OS: Partial<Record<NodeJS.Platform, string>> = { win32: 'windows' };
const GO_ARCH: Partial<Record<string, string>> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };

/**
 * The login exchange, top to bottom: send Login (plaintext) with the credential, read LoginResp
 * (plaintext, bounded wait), refuse on an error string. The caller then wraps
 * the stream in the control cipher.
 */
export async function login(
  stream: Duplex,
  config: ClientConfig,
  credential: Required<SignedFields>,
  previousRunId: string,
  alwaysAuthPass = false,
): Promise<LoginResp> {
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
    },
  });
  const resp = await expectMessage(stream, 'LoginResp', LOGIN_TIMEOUT_MS);
  if (resp.error) throw new BurrowError('BURROW_LOGIN_FAILED', `login to ${config.serverAddr}:${config.serverPort} failed: ${resp.error}`);
  if (!resp.run_id) throw new BurrowError('BURROW_LOGIN_FAILED', 'login failed: the server sent no run_id');
  return resp;
}
