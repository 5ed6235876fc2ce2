/**
 * One line per event. Text for people at a terminal, JSON lines for machines.
 * Secrets (tokens, sk) are never passed in here by callers.
 *
 * Strings logged here often come from peers (hosts, paths, proxy names), so
 * every one is escaped and clipped: a peer cannot start a forged line (CR,
 * LF, U+2028), send escape sequences to a terminal (ESC, C1 such as CSI), or
 * flood the log through one huge value.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, silent: 5 };

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. the component or proxy name). */
  child(fields: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  write?: (line: string) => void;
}

/** Longest field value written; the rest is replaced by a count. */
export const MAX_LOGGED_VALUE_CHARS = 1024;
/** Messages are built by our own code but may embed peer strings (config warnings, errors). */
export const MAX_LOGGED_MESSAGE_CHARS = 4 * MAX_LOGGED_VALUE_CHARS;

/** C0, DEL, C1 and the two Unicode line separators. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');
/** What JSON.stringify leaves raw although terminals and line readers act on it. */
const JSON_RAW_CONTROL = /[\x7f-\x9f\u2028\u2029]/g;

const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const READABLE: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters as visible escapes (`\n`, `\u001b`), so the text stays on one line and inert. */
export function escapeControls(s: string): string {
  return s.replace(CONTROL_ALL, (c) => READABLE[c] ?? unicodeEscape(c));
}

/** JSON text whose strings carry no raw control character at all (outside strings JSON has none). */
function safeJson(v: unknown): string {
  return JSON.stringify(v).replace(JSON_RAW_CONTROL, unicodeEscape);
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length - max} more)`;
}

function textValue(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  const s = clip(v, MAX_LOGGED_VALUE_CHARS);
  return /\s/.test(s) || CONTROL.test(s) ? safeJson(s) : s;
}

export function createLogger(opts: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = opts.level ?? 'info';
  const format = opts.format ?? 'text';
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold = RANK[level];

  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < threshold) return;
    const all = fields ? { ...bound, ...fields } : bound;
    const text = clip(msg, MAX_LOGGED_MESSAGE_CHARS);
    if (format === 'json') {
      const clipped: LogFields = {};
      for (const [k, v] of Object.entries(all)) clipped[k] = typeof v === 'string' ? clip(v, MAX_LOGGED_VALUE_CHARS) : v;
      write(safeJson({ time: new Date().toISOString(), level: lvl, msg: text, ...clipped }));
      return;
    }
    let line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${escapeControls(text)}`;
    for (const [k, v] of Object.entries(all)) {
      if (v !== undefined) line += ` ${escapeControls(k)}=${textValue(v)}`;
    }
    write(line);
  };

  return {
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...bound, ...fields }),
    isEnabled: (lvl) => RANK[lvl] >= threshold,
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
