import type { Duplex } from 'node:stream';
import { writeMessage } from '../control/message-io.js';
import type { NewVisitorConn } from '../protocol/messages.js';
import { SecretServerProxy, features } from '../proxy/shared/secret-server.js';
import { checkVisitorSignature } from '../proxy/shared/visitor-signature.js';
import type { ServerProxy } from '../proxy/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { LogFields, Logger } from '../util/logger.js';
import { hostPort, visitorAddress } from '../util/address.js';
import { clipped } from '../util/peer-string.js';
import { withTimeout } from '../util/timeout.js';
import { refuseStream } from './bind-conn.js';

/** frp: the answer to a visitor must be written within 5 s. */
const ANSWER_TIMEOUT_MS = 5000;

/** What the visitor checks need from the server. */
export interface VisitorLookup {
  /** the user of the live client with this run id; undefined when there is none */
  userOfRunId(runId: string): string | undefined;
  findProxy(name: string): ServerProxy | undefined;
  /** whether the connection carrying the NewVisitorConn belongs to the live client with this run id */
  carriedByClient?(runId: string): boolean;
  /** in a cluster: the way to the node holding proxy `name`, when no client here holds it */
  elsewhere?(name: string): VisitorForward | undefined;
}

/** A visitor as its own node saw it, for the node that holds its proxy. */
export interface ForwardedVisitor {
  /** the user of its client ('' for an empty run id) */
  readonly user: string;
  /** whether it came over its own client's connection (what a keyless proxy asks) */
  readonly carried: boolean;
  readonly peer: { readonly address: string; readonly port: number };
}

/**
 * Carries a visitor connection to the node that holds its proxy, which
 * checks and answers it as if the visitor had come there; `answered` gets
 * that answer's error ('' when accepted) before it reaches the visitor.
 * Resolves false when that node could not be asked (nothing was answered).
 */
export type VisitorForward = (stream: Duplex, msg: NewVisitorConn, visitor: ForwardedVisitor, answered: (error: string) => void) => Promise<boolean>;

/**
 * The proxy a NewVisitorConn may reach, and the visitor's user; throws a
 * coded BurrowError naming the first check that failed. Order: the caller's
 * client, the proxy, the signature (before anything about the proxy's
 * policy is revealed), the clock, the user.
 */
export function checkVisitorConn(msg: NewVisitorConn, lookup: VisitorLookup, nowSeconds: number): { proxy: SecretServerProxy; user: string } {
  const name = msg.proxy_name ?? '';
  const runId = msg.run_id ?? '';
  // frp accepts an empty run_id (clients before 0.50): the visitor's user is then empty.
  const user = runId === '' ? '' : lookup.userOfRunId(runId);
  if (user === undefined) throw new BurrowError('BURROW_VISITOR_REFUSED', `no client control found for run id [${runId}]`);
  const proxy = lookup.findProxy(name);
  if (!(proxy instanceof SecretServerProxy)) {
    throw new BurrowError('BURROW_VISITOR_UNKNOWN_PROXY', `no stcp or sudp proxy named "${name}" is registered`);
  }
  checkVisitorSignature(name, proxy, msg.timestamp ?? 0, msg.sign_key ?? '', nowSeconds);
  // Unlike frp: with an empty sk the signature is no secret, so the visitor
  // must prove who it is the way a work connection does.
  if (proxy.keyless && (runId === '' || lookup.carriedByClient?.(runId) !== true)) {
    throw new BurrowError(
      'BURROW_VISITOR_REFUSED',
      `visitor connection of [${name}] refused: the proxy has no secret key, so its visitors must come over their own logged-in client's connection`,
    );
  }
  if (!proxy.allows(user)) {
    throw new BurrowError('BURROW_VISITOR_NOT_ALLOWED', `visitor connection of [${name}] user [${user}] not allowed`);
  }
  return { proxy, user };
}

export interface VisitorConnHooks {
  /** the checks passed, before the answer: the connection is then trusted */
  accepted?(): void;
  /** logs a refusal in place of the default warning */
  refused?(code: string, fields: LogFields): void;
}

/**
 * One visitor connection, after its NewVisitorConn: check, answer
 * NewVisitorConnResp, hand to the proxy. A refusal is answered with the
 * reason (or frp's generic text), logged, and closes this connection only.
 */
export async function serveVisitorConn(
  stream: Duplex,
  msg: NewVisitorConn,
  /** the visitor connection's peer (its physical connection's, with tcpMux) */
  peer: { readonly address: string; readonly port: number },
  lookup: VisitorLookup,
  detailedErrors: boolean,
  log: Logger,
  hooks: VisitorConnHooks = {},
): Promise<void> {
  const name = msg.proxy_name ?? '';
  const remote = peer.address;
  let checked: { proxy: SecretServerProxy; user: string };
  try {
    checked = checkVisitorConn(msg, lookup, Math.floor(Date.now() / 1000));
  } catch (err) {
    if (await forwarded(stream, msg, peer, lookup, err, log, hooks)) return;
    const code = err instanceof BurrowError ? err.code : undefined;
    const fields = { proxy: clipped(name), remote, code, reason: clipped(describeError(err)) };
    if (hooks.refused) hooks.refused(code ?? 'error', fields);
    else log.warn('visitor connection refused', fields);
    const error = detailedErrors ? describeError(err) : 'register visitor conn error';
    // The visitor closes on the answer; one that does not is cut off. What it sends meanwhile is dropped.
    await refuseStream(stream, { type: 'NewVisitorConnResp', body: { proxy_name: name, error } });
    return;
  }
  hooks.accepted?.();
  await withTimeout(
    writeMessage(stream, { type: 'NewVisitorConnResp', body: { proxy_name: name, ...features(checked.proxy.ownerFeatures) } }),
    ANSWER_TIMEOUT_MS,
    'NewVisitorConnResp',
  );
  log.debug('visitor connection accepted', { proxy: clipped(name), remote, user: clipped(checked.user) });
  await checked.proxy.serve(stream, {
    useEncryption: msg.use_encryption === true,
    useCompression: msg.use_compression === true,
    srcAddr: visitorAddress(remote),
    remoteAddr: hostPort(remote, peer.port),
    burrowFeatures: msg.burrow_features ?? [],
  });
}

/** A visitor of a proxy no client here holds, carried to the node of the cluster that holds it; false when there is none (or it did not answer). */
async function forwarded(
  stream: Duplex,
  msg: NewVisitorConn,
  peer: ForwardedVisitor['peer'],
  lookup: VisitorLookup,
  failure: unknown,
  log: Logger,
  hooks: VisitorConnHooks,
): Promise<boolean> {
  // Only "no such proxy here": a visitor whose own client is unknown is refused here, as on one server.
  if (!(failure instanceof BurrowError) || failure.code !== 'BURROW_VISITOR_UNKNOWN_PROXY') return false;
  const name = msg.proxy_name ?? '';
  const forward = lookup.elsewhere?.(name);
  if (!forward) return false;
  const runId = msg.run_id ?? '';
  const visitor = { user: runId === '' ? '' : (lookup.userOfRunId(runId) ?? ''), carried: runId !== '' && lookup.carriedByClient?.(runId) === true, peer };
  return forward(stream, msg, visitor, (error) => {
    if (error === '') {
      hooks.accepted?.();
      log.debug('visitor connection accepted by the node holding its proxy', { proxy: clipped(name), remote: peer.address });
      return;
    }
    const fields = { proxy: clipped(name), remote: peer.address, code: 'BURROW_VISITOR_REFUSED', reason: clipped(error) };
    if (hooks.refused) hooks.refused('refused by the node holding the proxy', fields);
    else log.warn('visitor connection refused', fields);
  });
}
