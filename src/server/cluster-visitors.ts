import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClusterNode } from '../cluster/node.js';
import { linkFrame, readLinkFrame, type LinkHello } from '../cluster/link-handshake.js';
import { expectMessage, writeMessage } from '../control/message-io.js';
import { markWire, wireOf } from '../control/wire-mark.js';
import type { Message, NatHoleResp, NatHoleVisitor, NewVisitorConn, NewVisitorConnResp } from '../protocol/messages.js';
import type { NatHoleCoordinator, NatHoleParty } from '../proxy/xtcp/nat-hole-coordinator.js';
import type { ServerProxy } from '../proxy/types.js';
import { relay } from '../relay/pipe.js';
import { hostPort } from '../util/address.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { clipped } from '../util/peer-string.js';
import { withTimeout } from '../util/timeout.js';
import { refuseStream } from './bind-conn.js';
import { serveVisitorConn, type VisitorForward } from './visitor-conn.js';

/**
 * Visitors of secret proxies (stcp, sudp, xtcp) that reach a node of the
 * cluster other than the one holding their proxy (docs/cluster.md). Their own
 * node checks what only it can (the visitor's client, by run id) and carries
 * the rest over the internal link; the holding node checks the secret and
 * allowUsers exactly as for a visitor of its own, and answers. Each exchange
 * here is one function, both sides.
 */

/** The holding node's answer to a visitor connection (its own checks answer within 5 s). */
const VISITOR_ANSWER_TIMEOUT_MS = 10_000;
/** The first frame of a visitor's link, on the holding node. */
const LINK_FRAME_TIMEOUT_MS = 5000;
/** A NatHoleResp from the holding node: its owner has 10 s to answer, twice (a work connection, then NatHoleClient). */
const NAT_HOLE_ANSWER_TIMEOUT_MS = 25_000;
/** NatHoleVisitors this node carries to other nodes at once, whatever its visitors send. */
const MAX_NAT_HOLE_RELAYS = 256;
/** NatHoleVisitors in flight from each node (per node: several servers may share a process). */
const natHoleRelays = new WeakMap<ClusterNode, number>();

/** The relaying side of a visitor connection, for VisitorLookup.elsewhere. */
export function visitorForward(cluster: ClusterNode, log: Logger): (name: string) => VisitorForward | undefined {
  return (name) => {
    const route = cluster.proxyRoute(name);
    if (!route) return undefined;
    return async (stream, msg, visitor, answered) => {
      const fields = { proxy: clipped(name), remote: visitor.peer.address, owner: route.holder.n };
      let link: Socket;
      try {
        link = await cluster.dial(route, 'visitor', name, hostPort(visitor.peer.address, visitor.peer.port));
      } catch (err) {
        log.warn('cluster: visitor connection not relayed: the node holding its proxy did not answer', { ...fields, reason: describeError(err) });
        return false;
      }
      link.on('error', () => {});
      const wire = wireOf(stream);
      let resp: NewVisitorConnResp;
      try {
        link.write(linkFrame({ user: visitor.user, carried: visitor.carried, wire, msg }));
        // The holder answers in the visitor's own framing; everything after the answer is the visitor's bytes.
        markWire(link, wire);
        resp = await expectMessage(link, 'NewVisitorConnResp', VISITOR_ANSWER_TIMEOUT_MS);
      } catch (err) {
        link.destroy();
        log.warn('cluster: visitor connection not relayed: no answer from the node holding its proxy', { ...fields, reason: describeError(err) });
        return false;
      }
      answered(resp.error ?? '');
      if (resp.error) {
        link.destroy();
        await refuseStream(stream, { type: 'NewVisitorConnResp', body: resp });
        return true;
      }
      try {
        await writeMessage(stream, { type: 'NewVisitorConnResp', body: resp });
      } catch {
        // The visitor left while the holder answered: the holder already serves the link, so it must go too.
        link.destroy();
        return true;
      }
      await relay(stream, link);
      return true;
    };
  };
}

/** What the holding node needs to serve a visitor's link. */
export interface LinkedVisitorHost {
  readonly config: { readonly detailedErrorsToClient: boolean };
  readonly log: Logger;
  findProxy(name: string): ServerProxy | undefined;
}

/** The holding side of a link of kind 'visitor' or 'nathole' (its hello checked by the node). */
export function acceptProxyLink(host: LinkedVisitorHost, natHole: NatHoleCoordinator, kind: 'visitor' | 'nathole', hello: LinkHello, socket: Socket): void {
  const serve = kind === 'visitor' ? serveLinkedVisitor(host, hello, socket) : serveLinkedNatHole(natHole, hello, socket);
  serve.catch((err: unknown) => {
    host.log.warn('cluster: bad visitor link, closing it', { kind, node: hello.node, proxy: clipped(hello.target), reason: describeError(err) });
    socket.destroy();
  });
}

async function serveLinkedVisitor(host: LinkedVisitorHost, hello: LinkHello, socket: Socket): Promise<void> {
  const raw = await withTimeout(readLinkFrame(socket), LINK_FRAME_TIMEOUT_MS, 'the first frame of a visitor link');
  const f = raw as { user?: unknown; carried?: unknown; wire?: unknown; msg?: unknown } | null;
  const msg = f?.msg as NewVisitorConn | undefined;
  if (
    typeof f?.user !== 'string' ||
    typeof f.carried !== 'boolean' ||
    (f.wire !== 'v1' && f.wire !== 'v2') ||
    typeof msg !== 'object' ||
    msg === null ||
    msg.proxy_name !== hello.target
  ) {
    throw new Error('malformed visitor frame');
  }
  const { user, carried } = f;
  markWire(socket, f.wire);
  const colon = hello.src.lastIndexOf(':');
  const peer = { address: hello.src.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(hello.src.slice(colon + 1)) || 0 };
  // The checks a visitor of this node meets; its user and connection as its own node saw them. Never relayed again.
  const lookup = { userOfRunId: () => user, findProxy: (name: string) => host.findProxy(name), carriedByClient: () => carried };
  await serveVisitorConn(socket as Duplex, msg, peer, lookup, host.config.detailedErrorsToClient, host.log);
}

async function serveLinkedNatHole(natHole: NatHoleCoordinator, hello: LinkHello, socket: Socket): Promise<void> {
  const raw = await withTimeout(readLinkFrame(socket), LINK_FRAME_TIMEOUT_MS, 'the first frame of a NAT hole link');
  const f = raw as { runId?: unknown; user?: unknown; msg?: unknown } | null;
  const msg = f?.msg as NatHoleVisitor | undefined;
  if (typeof f?.runId !== 'string' || typeof f.user !== 'string' || typeof msg !== 'object' || msg === null || msg.proxy_name !== hello.target) {
    throw new Error('malformed NatHoleVisitor frame');
  }
  socket.setTimeout(NAT_HOLE_ANSWER_TIMEOUT_MS, () => socket.destroy());
  // The visitor's client as the coordinator sees it: its one answer goes back over the link.
  const party: NatHoleParty = {
    runId: f.runId,
    user: f.user,
    send: (m: Message) => {
      if (m.type === 'NatHoleResp') socket.end(linkFrame({ msg: m.body }));
    },
  };
  natHole.onMessage(party, { type: 'NatHoleVisitor', body: msg });
}

/**
 * The relaying side of an xtcp visitor's NatHoleVisitor: true when it went to
 * the node holding the proxy (whose answer, or the reason there is none,
 * reaches the visitor as NatHoleResp); false when this node must answer it.
 */
export function relayNatHole(
  host: LinkedVisitorHost & { readonly cluster: ClusterNode | undefined },
  from: NatHoleParty & { readonly remoteAddress: string },
  msg: Message,
): boolean {
  if (msg.type !== 'NatHoleVisitor' || !host.cluster) return false;
  const name = msg.body.proxy_name ?? '';
  // A proxy of this node is served here, whatever the table (read a moment ago) says.
  const route = host.findProxy(name) ? undefined : host.cluster.proxyRoute(name);
  if (!route) return false;
  const { cluster, log } = host;
  const tid = msg.body.transaction_id ?? '';
  const inFlight = natHoleRelays.get(cluster) ?? 0;
  if (inFlight >= MAX_NAT_HOLE_RELAYS) {
    from.send({ type: 'NatHoleResp', body: { transaction_id: tid, error: 'too many hole punching sessions in progress' } });
    return true;
  }
  natHoleRelays.set(cluster, inFlight + 1);
  void (async () => {
    let link: Socket | undefined;
    try {
      link = await cluster.dial(route, 'nathole', name, hostPort(from.remoteAddress, 0));
      link.on('error', () => {});
      link.write(linkFrame({ runId: from.runId, user: from.user, msg: msg.body }));
      const answer = (await withTimeout(readLinkFrame(link), NAT_HOLE_ANSWER_TIMEOUT_MS, 'NatHoleResp from the node holding the proxy')) as {
        msg?: NatHoleResp;
      } | null;
      if (typeof answer?.msg !== 'object' || answer.msg === null) throw new Error('malformed NatHoleResp frame');
      from.send({ type: 'NatHoleResp', body: answer.msg });
    } catch (err) {
      log.warn('cluster: xtcp visitor not relayed', { proxy: clipped(name), owner: route.holder.n, reason: describeError(err) });
      const error = `xtcp proxy [${name}] is held by another node of the cluster, which did not answer: ${describeError(err)}`;
      from.send({ type: 'NatHoleResp', body: { transaction_id: tid, error } });
    } finally {
      natHoleRelays.set(cluster, (natHoleRelays.get(cluster) ?? 1) - 1);
      link?.destroy();
    }
  })();
  return true;
}
