import type { ClientConfig } from '../config/types.js';
import type { NatHoleLink, VisitorLink } from '../proxy/client-context.js';
import { BurrowError } from '../util/errors.js';
import type { ClientSession } from './client-session.js';
import type { NatHoleExchange } from './nat-hole-exchange.js';

/** What xtcp and the visitors read of their client, when they use it. */
export interface SessionSource {
  config(): ClientConfig;
  /** the session under way, logged in or not */
  current(): ClientSession | undefined;
  /** the session, once it is logged in */
  loggedIn(): ClientSession | undefined;
}

/** xtcp's NatHole* requests, over whichever session is current. */
export function natHoleLinkOf(source: SessionSource, exchange: NatHoleExchange): NatHoleLink {
  return {
    get stunServer(): string {
      return source.config().natHoleStunServer;
    },
    exchange: (msg, timeoutMs) => exchange.request((m) => source.current()?.send(m) ?? false, msg, timeoutMs),
    report: (body) => void source.current()?.send({ type: 'NatHoleReport', body }),
  };
}

/** Visitors reach the server through whichever session is current. */
export function visitorLinkOf(source: SessionSource, natHole: NatHoleLink): VisitorLink {
  return {
    get runId() {
      return source.current()?.runId ?? '';
    },
    get user() {
      return source.config().user;
    },
    get udpPacketSize() {
      return source.config().udpPacketSize;
    },
    natHole,
    openStream() {
      const session = source.loggedIn();
      if (!session) return Promise.reject(new BurrowError('BURROW_CLOSED', 'not connected to the server'));
      return session.openStream();
    },
  };
}
