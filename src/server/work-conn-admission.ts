import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import type { NewWorkConn } from '../protocol/messages.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { clipped, shortRunId } from '../util/peer-string.js';
import type { AuthVerifier } from './auth/verifier.js';
import { type BindConn, BindConnState, refuseStream } from './bind-conn.js';
import type { ClientTable } from './client-table.js';
import { type ControlSession, ControlState } from './control-session.js';
import type { ManagePlugins } from './manage-plugins/manager.js';
import type { RefusalLog } from '../util/refusal-log.js';
import type { VisitorLookup } from './visitor-conn.js';
import type { ClusterNode } from '../cluster/node.js';
import { visitorForward } from './cluster-visitors.js';

/** What admitting a work connection needs from the server. */
export interface WorkConnHost {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly refusals: RefusalLog;
  readonly clientTable: ClientTable;
  /** frps server plugins (`[[httpPlugins]]`) */
  readonly plugins: ManagePlugins;
  readonly auth: AuthVerifier;
}

/**
 * One NewWorkConn: find its client, check the signature when there is one
 * and where it came from, then put it in that client's pool. A refusal
 * answers StartWorkConn with the reason (or frp's terse one).
 */
export async function serveWorkConn(host: WorkConnHost, stream: Duplex, sent: NewWorkConn, bind: BindConn): Promise<void> {
  const remote = bind.remote;
  let msg = sent;
  const control = host.clientTable.get(msg.run_id ?? '');
  const refuse = async (category: string, reason: string): Promise<void> => {
    const fields = { runId: shortRunId(msg.run_id ?? ''), reason };
    if (bind.state === BindConnState.PreAuth) host.refusals.refused(`work connection refused: ${category}`, remote, fields);
    else host.log.warn('work connection refused', { remote, ...fields });
    const error = host.config.detailedErrorsToClient ? reason : 'invalid NewWorkConn';
    await refuseStream(stream, { type: 'StartWorkConn', body: { error } });
  };
  // One answer whether the run id is unknown or only reachable another way, so it cannot be probed.
  const unknown = `no client control found for run id [${clipped(msg.run_id ?? '')}]`;
  if (!control) return refuse('unknown run id', unknown);
  if (host.plugins.has('NewWorkConn')) {
    // As frps: the client is found by the run id sent; the checks below read what the plugins return.
    try {
      msg = await host.plugins.newWorkConn(control.pluginUser, sent);
    } catch (err) {
      return refuse('server plugin', describeError(err));
    }
    if (control.state !== ControlState.Active) return refuse('unknown run id', unknown);
  }
  const { signed, failure } =
    control.authSubject === undefined ? { signed: false, failure: undefined } : await host.auth.verifyNewWorkConn(msg, control.authSubject);
  if (failure !== undefined) return refuse('bad signature', failure);
  // The check may have waited (OIDC): the client may have gone meanwhile.
  if (host.clientTable.get(msg.run_id ?? '') !== control) return refuse('unknown run id', unknown);
  if (!mayCarryWorkConns(host, bind, control, signed)) return refuse('not the client connection', unknown);
  if (!control.pool.put(stream)) {
    // Not a fault of the client's (it answered a request of ours late): frps logs it at debug too.
    host.log.debug('work connection refused: the pool is full', { remote, runId: shortRunId(msg.run_id ?? '') });
    await refuseStream(stream, { type: 'StartWorkConn', body: { error: 'work connection pool is full' } });
    return;
  }
  bind.trust();
}

/**
 * Unlike frp, knowing a run id is not enough to receive a client's users.
 * With tcpMux, stock frpc opens its work connections on the session of its
 * control, so only that session may; without it, a work connection carries a
 * valid signature or comes from the control's source address.
 */
export function mayCarryWorkConns(host: WorkConnHost, bind: BindConn, control: ControlSession, signed: boolean): boolean {
  if (host.config.transport.tcpMux) return host.clientTable.bindConnOf(control) === bind;
  return signed || bind.remote === control.remoteAddress;
}

/** What the visitor checks see: the server's clients and proxies, whether `bind` is a given client's own, and the cluster's other nodes. */
export function visitorLookupFor(
  host: WorkConnHost & Pick<VisitorLookup, 'findProxy'> & { readonly cluster: ClusterNode | undefined },
  bind: BindConn,
): VisitorLookup {
  return {
    ...(host.cluster ? { elsewhere: visitorForward(host.cluster, host.log) } : {}),
    userOfRunId: (runId) => host.clientTable.get(runId)?.user,
    findProxy: (name) => host.findProxy(name),
    carriedByClient: (runId) => {
      const control = host.clientTable.get(runId);
      return control !== undefined && mayCarryWorkConns(host, bind, control, false);
    },
  };
}
