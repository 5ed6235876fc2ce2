import type { BurrowClient, ProxyStatus } from '../client/client.js';
import type { Exchange } from '../inspect/exchange.js';
import { changeLines, type LiveRequest, type LiveState, renderScreen, requestLine } from './live-render.js';

/**
 * The live view of `burrow http|tcp|udp`: one state, fed by the client's
 * events and the inspector's exchanges, shown as a redrawn screen on a
 * terminal or as one line per change otherwise (logs, CI).
 */

/** What the view writes to: stdout, or a test's stream. */
export interface LiveOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** Requests kept for the screen; the inspector page keeps the full history. */
export const LIVE_REQUESTS_KEPT = 100;

const CLEAR_SCREEN = '\x1b[2J\x1b[H';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

export class LiveView {
  private state: LiveState;
  private readonly tty: boolean;
  private readonly color: boolean;
  private redrawQueued = false;
  private closed = false;
  private readonly onResize = (): void => this.queueRedraw();

  constructor(
    private readonly out: LiveOutput,
    initial: Omit<LiveState, 'requests' | 'total'>,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.state = { ...initial, requests: [], total: 0 };
    this.tty = out.isTTY === true;
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    this.color = this.tty && !env.NO_COLOR && env.TERM !== 'dumb';
    if (this.tty) {
      out.write(HIDE_CURSOR + CLEAR_SCREEN);
      out.on?.('resize', this.onResize);
      this.queueRedraw();
    } else {
      this.print(changeLines(undefined, this.state));
    }
  }

  get current(): LiveState {
    return this.state;
  }

  update(patch: Partial<Omit<LiveState, 'requests' | 'total'>>): void {
    const prev = this.state;
    this.state = { ...prev, ...patch };
    if (this.tty) this.queueRedraw();
    else this.print(changeLines(prev, this.state));
  }

  request(r: LiveRequest): void {
    const requests = [...this.state.requests, r].slice(-LIVE_REQUESTS_KEPT);
    this.state = { ...this.state, requests, total: this.state.total + 1 };
    if (this.tty) this.queueRedraw();
    else this.print([requestLine(r)]);
  }

  /** Leaves the terminal as it was (cursor shown, below the last screen). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.tty) return;
    this.out.off?.('resize', this.onResize);
    this.redraw();
    this.out.write(`${SHOW_CURSOR}\n`);
  }

  private print(lines: string[]): void {
    if (!this.closed && lines.length > 0) this.out.write(`${lines.join('\n')}\n`);
  }

  /** Many requests at once cost one redraw, not one each. */
  private queueRedraw(): void {
    if (this.redrawQueued || this.closed) return;
    this.redrawQueued = true;
    setImmediate(() => {
      this.redrawQueued = false;
      if (!this.closed) this.redraw();
    });
  }

  private redraw(): void {
    const size = { columns: Math.max(20, this.out.columns ?? 80), rows: Math.max(8, this.out.rows ?? 24) };
    const lines = renderScreen(this.state, size, this.color);
    this.out.write(HOME + lines.map((l) => l + CLEAR_LINE_END).join('\n') + CLEAR_BELOW);
  }
}

export function liveRequest(e: Exchange): LiveRequest {
  return {
    method: e.request.method,
    target: e.request.target,
    status: e.response?.status ?? 0,
    reason: e.response?.reason ?? '',
    durationMs: e.durationMs,
    startedAt: e.startedAt,
    ...(e.error !== undefined ? { error: e.error } : {}),
  };
}

/**
 * Feeds `view` from `client`: its connection state, the proxy's status (the
 * current one of `proxyName()`, which a name clash may change) and every
 * request recorded for it. Returns a function that stops following.
 */
export function followClient(view: LiveView, client: BurrowClient, proxyName: () => string, urlOf: (s: ProxyStatus) => string): () => void {
  const online = (): void => view.update({ connection: 'online', detail: '' });
  const offline = (reason: string): void => view.update({ connection: 'reconnecting', detail: reason });
  const retry = (attempt: number, delayMs: number, reason: string): void =>
    view.update({ detail: `${reason}; attempt ${attempt + 1} in ${Math.ceil(delayMs / 1000)} s` });
  const proxy = (s: ProxyStatus): void => {
    if (s.name !== proxyName()) return;
    if (s.phase === 'running') view.update({ url: urlOf(s), detail: '' });
    else if (s.phase === 'start error') view.update({ url: '', detail: `tunnel refused: ${s.err}` });
    else if (s.phase === 'check failed') view.update({ url: '', detail: 'the local service failed its health check' });
  };
  const added = (e: Exchange): void => {
    if (e.proxy === proxyName()) view.request(liveRequest(e));
  };
  client.on('online', online);
  client.on('offline', offline);
  client.on('retry', retry);
  client.on('proxy', proxy);
  client.inspector.store.on('added', added);
  return () => {
    client.off('online', online);
    client.off('offline', offline);
    client.off('retry', retry);
    client.off('proxy', proxy);
    client.inspector.store.off('added', added);
  };
}
