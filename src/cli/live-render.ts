/**
 * What `burrow http|tcp|udp` show, as pure functions of one state: the full
 * screen a terminal redraws (like ngrok's), and the lines a log or CI gets
 * when something changed. No I/O here, so tests read the output directly.
 */

export interface LiveRequest {
  method: string;
  target: string;
  /** 0 when the connection ended before a response */
  status: number;
  reason: string;
  durationMs: number;
  /** epoch ms */
  startedAt: number;
  /** why the exchange is incomplete */
  error?: string;
}

export interface LiveState {
  /** the command: http, tcp, udp */
  kind: string;
  /** connecting, online, reconnecting, stopped, or the proxy's refusal */
  connection: string;
  /** why the last attempt failed, or what is being waited for; "" when all is well */
  detail: string;
  server: string;
  /** the public address; "" until the server accepted the tunnel */
  url: string;
  local: string;
  /** the inspector page; "" without one */
  inspect: string;
  /** the last requests, oldest first (bounded by the view) */
  requests: readonly LiveRequest[];
  /** every request seen, including those pushed out of `requests` */
  total: number;
}

export interface ScreenSize {
  columns: number;
  rows: number;
}

/** The terminal keeps at least this many request rows, even when small. */
const MIN_REQUEST_ROWS = 3;
const HEADER_ROWS = 11;

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** Cuts a line to the terminal's width (in UTF-16 units, which is close enough for URLs and paths). */
function fit(line: string, columns: number): string {
  return line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 1))}…`;
}

function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

const ANSI = { reset: '\x1b[0m', green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', cyan: '\x1b[36m' } as const;

function statusColor(status: number): string {
  if (status === 0 || status >= 500) return ANSI.red;
  if (status >= 400) return ANSI.yellow;
  if (status >= 300) return ANSI.cyan;
  return ANSI.green;
}

/** Columns a request line takes besides its path: time, method, status, duration and the gaps. */
const REQUEST_FIXED_COLUMNS = 10 + 8 + 19 + 10;
const PLAIN_PATH_COLUMNS = 32;

/**
 * One request as a line: time, method, path, status, duration. Given the
 * terminal's width, the path takes the room left (cut with an ellipsis), so
 * the status and duration always show.
 */
export function requestLine(r: LiveRequest, color = false, columns?: number): string {
  const status = r.status === 0 ? `--- ${r.error ?? 'no response'}` : `${r.status} ${r.reason}`.trimEnd();
  const cell = pad(status, 18);
  const shown = color ? `${statusColor(r.status)}${status}${ANSI.reset}${cell.slice(status.length)}` : cell;
  const pathColumns = columns === undefined ? PLAIN_PATH_COLUMNS : Math.max(8, columns - REQUEST_FIXED_COLUMNS);
  const path = columns === undefined ? r.target : fit(r.target, pathColumns);
  return `${clock(r.startedAt)}  ${pad(r.method, 7)} ${pad(path, pathColumns)} ${shown} ${duration(r.durationMs)}`;
}

function forwarding(s: LiveState): string {
  return s.url === '' ? '(waiting for the server)' : `${s.url} -> ${s.local}`;
}

/** The whole screen for a terminal of `size`; at most size.rows lines, none wider than size.columns. */
export function renderScreen(s: LiveState, size: ScreenSize, color = false): string[] {
  const connection = s.detail === '' ? s.connection : `${s.connection} (${s.detail})`;
  const online = s.connection === 'online';
  const head = [
    `burrow ${s.kind}${' '.repeat(Math.max(1, size.columns - 8 - s.kind.length - 21))}(Ctrl+C to quit)`,
    '',
    `Session Status    ${color ? `${online ? ANSI.green : ANSI.yellow}${connection}${ANSI.reset}` : connection}`,
    `Server            ${s.server}`,
    `Forwarding        ${forwarding(s)}`,
    ...(s.inspect !== '' ? [`Web Interface     ${s.inspect}`] : []),
    `Requests          ${s.total}`,
    '',
  ];
  if (s.kind !== 'http') return head.map((l) => fit(l, size.columns));
  const room = Math.max(MIN_REQUEST_ROWS, size.rows - HEADER_ROWS);
  const shown = s.requests.slice(-room);
  const requests = shown.map((r) => {
    const line = requestLine(r, color, size.columns);
    // Colour codes take no room on screen: a line too wide even so (a long status) is cut without them.
    return requestLine(r, false, size.columns).length <= size.columns ? line : fit(requestLine(r, false, size.columns), size.columns);
  });
  return [...head.map((l) => fit(l, size.columns)), 'HTTP Requests', '-------------', ...requests];
}

/** The lines to print, when output is not a terminal, for the change from `prev` to `next` (requests are printed one by one, by the caller). */
export function changeLines(prev: LiveState | undefined, next: LiveState): string[] {
  const out: string[] = [];
  const conn = (s: LiveState): string => (s.detail === '' ? s.connection : `${s.connection}: ${s.detail}`);
  if (!prev || conn(prev) !== conn(next)) out.push(`status     ${conn(next)}`);
  if (next.url !== '' && prev?.url !== next.url) out.push(`forwarding ${forwarding(next)}`);
  if (next.inspect !== '' && prev?.inspect !== next.inspect) out.push(`inspect    ${next.inspect}   (every request through the tunnel, replay with a click)`);
  return out;
}
