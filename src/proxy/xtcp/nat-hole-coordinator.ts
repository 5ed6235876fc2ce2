import { randomBytes } from 'node:crypto';
import { writeMessage } from '../../control/message-io.js';
import type { Message, NatHoleClient, NatHoleReport, NatHoleResp, NatHoleVisitor } from '../../protocol/messages.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { shortRunId } from '../../util/peer-string.js';
import { withTimeout } from '../../util/timeout.js';
import { checkVisitorSignature } from '../shared/visitor-signature.js';
import type { ServerProxy } from '../types.js';
import { XtcpServerProxy } from './server.js';

/** frp: the owner must answer a session (NatHoleClient) within 10 s. */
const OWNER_ANSWER_TIMEOUT_MS = 10_000;
/** A finished session is kept this long for its NatHoleReports. */
const REPORT_WINDOW_MS = 60_000;
/** Sessions at once (each kept for REPORT_WINDOW_MS), whatever visitors send. */
const MAX_SESSIONS = 1024;
/**
 * Sessions one proxy, and one visitor client, may hold in that table: a
 * visitor that knows one proxy's secret must not fill it for every other
 * owner's xtcp.
 */
const MAX_SESSIONS_PER_PROXY = 64;
const MAX_SESSIONS_PER_VISITOR = 64;
/** What burrow tells both peers to wait for the other's probes (NatHoleResp.detect_behavior.read_timeout). */
const PUNCH_READ_TIMEOUT_MS = 5000;

/** A logged-in client, as the coordinator sees it. */
export interface NatHoleParty {
  readonly runId: string;
  readonly user: string;
  send(msg: Message): void;
}

/** What the coordinator needs from the server. */
export interface NatHoleLookup {
  findProxy(name: string): ServerProxy | undefined;
  /** the live client with this run id */
  controlOf(runId: string): NatHoleParty | undefined;
}

interface Session {
  readonly sid: string;
  readonly proxy: XtcpServerProxy;
  readonly visitorRunId: string;
  /** resolves with the owner's NatHoleClient */
  answer(msg: NatHoleClient): void;
}

/**
 * The server's part in xtcp: it checks a visitor's NatHoleVisitor, gives the
 * session a sid, tells the owning client (StartWorkConn + NatHoleSid on a
 * work connection), waits for the owner's NatHoleClient, and sends each side
 * the other's addresses in NatHoleResp. It never carries tunnel data.
 * frp's NAT classification and port prediction are not done: both sides are
 * told to probe each other's mapped and local addresses at once.
 */
export class NatHoleCoordinator {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly lookup: NatHoleLookup,
    private readonly log: Logger,
  ) {}

  onMessage(from: NatHoleParty, msg: Message): void {
    switch (msg.type) {
      case 'NatHoleVisitor':
        void this.visitor(from, msg.body);
        return;
      case 'NatHoleClient':
        this.client(from, msg.body);
        return;
      case 'NatHoleReport':
        this.report(from, msg.body);
        return;
      default:
        return;
    }
  }

  /** One visitor request, start to finish: checks, sid, owner told, owner's answer, both sides answered. */
  private async visitor(from: NatHoleParty, msg: NatHoleVisitor): Promise<void> {
    const name = msg.proxy_name ?? '';
    const tid = msg.transaction_id ?? '';
    let session: Session | undefined;
    try {
      const proxy = this.lookup.findProxy(name);
      if (!(proxy instanceof XtcpServerProxy)) throw new BurrowError('BURROW_VISITOR_UNKNOWN_PROXY', `xtcp server for [${name}] doesn't exist`);
      if (msg.pre_check) {
        if (!proxy.allows(from.user)) throw notAllowed(name, from.user);
        from.send({ type: 'NatHoleResp', body: { transaction_id: tid } });
        return;
      }
      checkVisitorSignature(name, proxy, msg.timestamp ?? 0, msg.sign_key ?? '', Math.floor(Date.now() / 1000));
      if (!proxy.allows(from.user)) throw notAllowed(name, from.user);
      this.checkRoom(proxy, from.runId);

      // frp's sid: Unix seconds followed by 16 random hex characters.
      const sid = `${Math.floor(Date.now() / 1000)}${randomBytes(8).toString('hex')}`;
      let answer: (m: NatHoleClient) => void = () => {};
      const answered = new Promise<NatHoleClient>((resolve) => (answer = resolve));
      session = { sid, proxy, visitorRunId: from.runId, answer };
      this.sessions.set(sid, session);
      proxy.sessions += 1;

      const work = await withTimeout(proxy.getWorkConn(), OWNER_ANSWER_TIMEOUT_MS, 'a work connection of the xtcp owner');
      try {
        await writeMessage(work, { type: 'StartWorkConn', body: { proxy_name: name } });
        await writeMessage(work, { type: 'NatHoleSid', body: { sid } });
      } finally {
        work.end();
      }
      const owner = await withTimeout(answered, OWNER_ANSWER_TIMEOUT_MS, 'NatHoleClient from the xtcp owner');
      const ownerControl = this.lookup.controlOf(proxy.ownerRunId);
      const protocol = msg.protocol;
      from.send({ type: 'NatHoleResp', body: this.resp(tid, sid, protocol, owner.mapped_addrs, owner.assisted_addrs, 'sender') });
      ownerControl?.send({ type: 'NatHoleResp', body: this.resp(owner.transaction_id ?? '', sid, protocol, msg.mapped_addrs, msg.assisted_addrs, 'receiver') });
      this.log.info('xtcp peers introduced', { proxy: name, sid, visitorUser: from.user });
    } catch (err) {
      const code = err instanceof BurrowError ? err.code : undefined;
      this.log.warn('xtcp visitor refused', { proxy: name, code, reason: describeError(err) });
      from.send({ type: 'NatHoleResp', body: { transaction_id: tid, sid: session?.sid, error: describeError(err) } });
    } finally {
      if (session) {
        const s = session;
        s.proxy.sessions -= 1;
        // Kept a while so both sides' reports still find it.
        setTimeout(() => this.sessions.delete(s.sid), REPORT_WINDOW_MS).unref();
      }
    }
  }

  private checkRoom(proxy: XtcpServerProxy, visitorRunId: string): void {
    if (this.sessions.size >= MAX_SESSIONS) throw new BurrowError('BURROW_NAT_HOLE_FAILED', 'too many hole punching sessions in progress');
    let ofProxy = 0;
    let ofVisitor = 0;
    for (const s of this.sessions.values()) {
      if (s.proxy === proxy) ofProxy += 1;
      if (s.visitorRunId === visitorRunId) ofVisitor += 1;
    }
    if (ofProxy >= MAX_SESSIONS_PER_PROXY) {
      throw new BurrowError(
        'BURROW_NAT_HOLE_FAILED',
        `too many hole punching sessions for [${proxy.name}] in the last minute (at most ${MAX_SESSIONS_PER_PROXY})`,
      );
    }
    if (ofVisitor >= MAX_SESSIONS_PER_VISITOR) {
      throw new BurrowError(
        'BURROW_NAT_HOLE_FAILED',
        `this visitor started too many hole punching sessions in the last minute (at most ${MAX_SESSIONS_PER_VISITOR})`,
      );
    }
  }

  private client(from: NatHoleParty, msg: NatHoleClient): void {
    const session = this.sessions.get(msg.sid ?? '');
    // Only the proxy's own client answers its sessions.
    if (!session || session.proxy.ownerRunId !== from.runId) {
      this.log.debug('NatHoleClient for no session of this client ignored', { sid: msg.sid });
      return;
    }
    session.answer(msg);
  }

  private report(from: NatHoleParty, msg: NatHoleReport): void {
    const session = this.sessions.get(msg.sid ?? '');
    // Any logged-in client may send reports: only those of a real session are worth an info line.
    (session ? this.log.info : this.log.debug).call(this.log, 'xtcp hole punching result', {
      proxy: session?.proxy.name,
      sid: msg.sid,
      success: msg.success === true,
      from: shortRunId(from.runId),
    });
  }

  private resp(
    tid: string,
    sid: string,
    protocol: string | undefined,
    candidates: string[] | undefined,
    assisted: string[] | undefined,
    role: string,
  ): NatHoleResp {
    return {
      transaction_id: tid,
      sid,
      protocol,
      candidate_addrs: unique(candidates),
      assisted_addrs: unique(assisted),
      detect_behavior: { role, read_timeout: PUNCH_READ_TIMEOUT_MS },
    };
  }
}

function notAllowed(name: string, user: string): BurrowError {
  return new BurrowError('BURROW_VISITOR_NOT_ALLOWED', `xtcp visitor user [${user}] not allowed for [${name}]`);
}

function unique(list: string[] | undefined): string[] {
  return [...new Set(list ?? [])];
}
