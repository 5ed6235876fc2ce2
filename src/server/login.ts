import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { type ControlCipher, v2ControlCipher } from '../control/control-cipher.js';
import { writeMessage } from '../control/message-io.js';
import { wireOf } from '../control/wire-mark.js';
import { checkSignedTimestamp } from '../protocol/auth.js';
import type { Login } from '../protocol/messages.js';
import type { V2CryptoContext } from '../protocol/wire-v2-hello.js';
import type { Logger } from '../util/logger.js';
import { clipped, shortRunId } from '../util/peer-string.js';
import { FRP_COMPAT_VERSION } from '../util/version.js';
import { type BindConn, refuseStream } from './bind-conn.js';
import type { ClientTable } from './client-table.js';
import { type ControlSession, ControlState } from './control-session.js';
import type { RefusalLog } from './refusal-log.js';

/** What the login exchange needs from the server. */
export interface LoginHost {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly refusals: RefusalLog;
  readonly clientTable: ClientTable;
  /** false once the server is stopping */
  readonly accepting: boolean;
  /** a control session on `stream` for a login that passed every check */
  openControl(runId: string, login: Login, remote: string, stream: Duplex, bind: BindConn, log: Logger, cipher?: ControlCipher): ControlSession;
  clientOnline(control: ControlSession): void;
}

/**
 * One Login on a fresh logical connection, top to bottom: check it, answer
 * LoginResp, then hand the stream to a new control session. A refusal answers
 * with the reason and tears the physical connection down shortly after.
 */
export async function serveLogin(host: LoginHost, stream: Duplex, login: Login, bind: BindConn, crypto?: V2CryptoContext): Promise<void> {
  const remote = bind.remote;
  const refuse = async (category: string, reason: string): Promise<void> => {
    host.refusals.refused(`login refused: ${category}`, remote, { user: clipped(login.user), reason });
    await refuseStream(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, error: reason } });
    // The refused client gets no other stream: tear its physical connection down once the answer is out.
    setTimeout(bind.destroy, 1000).unref();
  };
  if (!host.accepting) return refuse('shutting down', 'server is shutting down');
  // A v2 control is enciphered with keys from the hello: a v2 Login without one has nothing to key it.
  const v2 = wireOf(stream) === 'v2';
  if (v2 && crypto === undefined) return refuse('no v2 hello', 'missing v2 crypto negotiation');
  if (!login.version) return refuse('no version', 'login refused: the version field is missing');
  const { auth } = host.config;
  const now = Math.floor(Date.now() / 1000);
  const authFailure = checkSignedTimestamp(auth.token, login.timestamp, login.privilege_key, auth.maxClockSkew, now, 'login');
  if (authFailure !== undefined) return refuse(/clocks/.test(authFailure) ? 'clock skew' : 'token mismatch', authFailure);
  let runId = login.run_id ?? '';
  if (runId !== '' && !/^[0-9a-zA-Z_-]{1,64}$/.test(runId)) return refuse('malformed run_id', 'login refused: run_id is malformed');
  // Unlike frp, a run id is not a credential on its own: only the same user
  // takes a live one over. Another user gets a fresh one (frpc adopts what
  // LoginResp says), so neither side can lock the other out.
  let previous = runId ? host.clientTable.get(runId) : undefined;
  if (previous && previous.user !== (login.user ?? '')) {
    host.log.warn("login with the run id of another user's client: given a new run id", { remote, user: clipped(login.user), runId: shortRunId(runId) });
    previous = undefined;
    runId = '';
  }
  if (previous) previous.close('replaced by a new login with the same run_id');
  if (runId === '') runId = randomBytes(8).toString('hex');

  await writeMessage(stream, { type: 'LoginResp', body: { version: FRP_COMPAT_VERSION, run_id: runId } });
  bind.trust();
  const log = host.log.child({ client: shortRunId(runId), ...(login.user ? { user: clipped(login.user) } : {}) });
  const cipher = v2 && crypto ? v2ControlCipher(host.config.auth.token, crypto, 'server') : undefined;
  const control = host.openControl(runId, login, remote, stream, bind, log, cipher);
  if (control.state !== ControlState.Active) return;
  host.clientTable.add(control, bind);
  host.clientOnline(control);
  log.info('client logged in', { remote, version: clipped(login.version), hostname: clipped(login.hostname), ...(v2 ? { wireProtocol: 'v2' } : {}) });
}
