/**
 * frpc's store (`store.path`): proxies and visitors added at run time through
 * the admin API, kept in a JSON file that survives restarts, and run beside
 * the config file's own. The file is frp's: `{"proxies": [...], "visitors":
 * [...]}`, each entry a flat proxy or visitor table as in a JSON config file,
 * so frpc and burrow read each other's store.
 *
 * Entries are checked with the config file's own schemas, so a stored proxy
 * is refused with the same key-naming errors as a `[[proxies]]` table. Every
 * change is written (a new file, fsynced, renamed over the old one, mode
 * 0600) before it is applied; a write that fails leaves the store as it was.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildClientConfig, ConfigError } from '../config/load.js';
import { isPlainObject } from '../config/schema-engine.js';
import type { ProxyConfig, VisitorConfig } from '../config/types.js';
import { BurrowError, describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export type StoreKind = 'proxy' | 'visitor';
/** One stored entry as frp writes it: a flat proxy or visitor table, `name` and `type` included. */
export type StoredEntry = Readonly<Record<string, unknown>>;

/** Bounds the file read at start and every file written (frp has none). */
export const MAX_STORE_FILE_BYTES = 4 * 1024 * 1024;
/** Per kind; the server takes at most 1024 proxies from one client anyway. */
export const MAX_STORE_ENTRIES = 1024;

/** What the store needs from its client. */
export interface StoreHost {
  /** the names the config file itself gives, per kind: a new store entry may not take one */
  fileNames(kind: StoreKind): ReadonlySet<string>;
  /** runs the file's entries and the store's together (the reload diff: other tunnels are untouched) */
  apply(): void;
}

interface Slot<C> {
  readonly raw: StoredEntry;
  readonly config: C;
}

const TOP_KEYS = new Set(['proxies', 'visitors']);

function invalid(message: string): BurrowError {
  return new BurrowError('BURROW_CONFIG_INVALID', message);
}

/**
 * Validates entries as a config file's `proxies` and `visitors`; problems name
 * the key at the place `where` says. Warnings go to `warn`.
 */
function validateEntries(
  proxies: unknown[],
  visitors: unknown[],
  source: string,
  where: (path: string) => string,
  warn: (w: string) => void,
): { proxies: ProxyConfig[]; visitors: VisitorConfig[] } {
  try {
    const cfg = buildClientConfig({ proxies, visitors }, source, { translatePath: where, onWarning: warn });
    return { proxies: cfg.proxies, visitors: cfg.visitors };
  } catch (err) {
    if (err instanceof ConfigError) throw invalid(where === identity ? err.message : err.problems.join('; '));
    throw err;
  }
}

const identity = (p: string): string => p;

export class ProxyStore {
  private readonly slots: { proxy: Map<string, Slot<ProxyConfig>>; visitor: Map<string, Slot<VisitorConfig>> } = { proxy: new Map(), visitor: new Map() };

  /** Reads the file (absent = empty store); a bad file throws, naming the file and each problem. */
  constructor(
    readonly path: string,
    private readonly host: StoreHost,
    private readonly log: Logger,
  ) {
    const doc = this.read();
    if (!doc) return;
    const checked = validateEntries(doc.proxies, doc.visitors, `store ${path}`, identity, (w) => log.warn(`store: ${w}`));
    for (const [i, config] of checked.proxies.entries()) this.slots.proxy.set(config.name, { raw: doc.proxies[i] as StoredEntry, config });
    for (const [i, config] of checked.visitors.entries()) this.slots.visitor.set(config.name, { raw: doc.visitors[i] as StoredEntry, config });
    if (this.slots.proxy.size + this.slots.visitor.size > 0)
      log.info('store loaded', { path, proxies: this.slots.proxy.size, visitors: this.slots.visitor.size });
  }

  /** The running settings of the enabled and disabled stored proxies (the client filters `enabled` and `start`). */
  get proxies(): ProxyConfig[] {
    return [...this.slots.proxy.values()].map((s) => s.config);
  }

  get visitors(): VisitorConfig[] {
    return [...this.slots.visitor.values()].map((s) => s.config);
  }

  has(kind: StoreKind, name: string): boolean {
    return this.slots[kind].has(name);
  }

  /** Every stored entry of a kind as written, sorted by name (as frp's API lists them). */
  list(kind: StoreKind): StoredEntry[] {
    return [...this.slots[kind].values()].map((s) => s.raw).sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }

  get(kind: StoreKind, name: string): StoredEntry | undefined {
    return this.slots[kind].get(name)?.raw;
  }

  /** Adds an entry, writes the file, then runs it. Throws BURROW_STORE_CONFLICT for a name in use. */
  create(kind: StoreKind, entry: StoredEntry, label: string = kind): StoredEntry {
    const name = String(entry.name ?? '');
    if (this.slots[kind].has(name)) throw new BurrowError('BURROW_STORE_CONFLICT', `already exists: ${kind} "${name}"`);
    if (this.host.fileNames(kind).has(name))
      throw new BurrowError('BURROW_STORE_CONFLICT', `${kind} "${name}" is defined in the config file; give the stored one another name`);
    if (this.slots[kind].size >= MAX_STORE_ENTRIES) throw invalid(`the store holds ${MAX_STORE_ENTRIES} ${kind === 'proxy' ? 'proxies' : 'visitors'} already`);
    this.commit(kind, name, entry, label);
    this.log.info(`store: created ${kind}`, { [kind]: name });
    return entry;
  }

  /** Replaces an entry of the same name, writes the file, then applies the change. */
  update(kind: StoreKind, name: string, entry: StoredEntry, label: string = kind): StoredEntry {
    if (!this.slots[kind].has(name)) throw new BurrowError('BURROW_STORE_NOT_FOUND', `not found: ${kind} "${name}"`);
    this.commit(kind, name, entry, label);
    this.log.info(`store: updated ${kind}`, { [kind]: name });
    return entry;
  }

  remove(kind: StoreKind, name: string): void {
    const slots = this.slots[kind] as Map<string, Slot<unknown>>;
    const old = slots.get(name);
    if (!old) throw new BurrowError('BURROW_STORE_NOT_FOUND', `not found: ${kind} "${name}"`);
    slots.delete(name);
    this.persist(() => slots.set(name, old));
    this.host.apply();
    this.log.info(`store: deleted ${kind}`, { [kind]: name });
  }

  /** Validates, stores, writes (undoing the change if the write fails), applies. */
  private commit(kind: StoreKind, name: string, entry: StoredEntry, label: string): void {
    const slots = this.slots[kind] as Map<string, Slot<unknown>>;
    // `proxies[0].localPort` → `tcp.localPort` (the block it was written in); name and type stand on their own.
    const where = (p: string): string => {
      const m = /^(?:proxies|visitors)\[0\](?:\.(.*))?$/.exec(p);
      if (!m) return p;
      return m[1] === undefined ? label : m[1] === 'name' || m[1] === 'type' ? m[1] : `${label}.${m[1]}`;
    };
    const warn = (w: string): void => this.log.warn(`store: ${w}`, { [kind]: name });
    let config: unknown;
    if (kind === 'proxy') {
      config = validateEntries([entry], [], 'store', where, warn).proxies[0];
    } else {
      // Checked beside the other stored visitors, so an xtcp visitor's fallbackTo may name one of them.
      const others = [...this.slots.visitor.values()].filter((s) => s.config.name !== name).map((s) => s.raw);
      config = validateEntries([], [entry, ...others], 'store', where, warn).visitors[0];
    }
    const old = slots.get(name);
    slots.set(name, { raw: entry, config });
    this.persist(() => (old ? slots.set(name, old) : slots.delete(name)));
    this.host.apply();
  }

  private persist(undo: () => void): void {
    try {
      this.write();
    } catch (err) {
      undo();
      throw new BurrowError('BURROW_CONFIG_INVALID', `the store file ${this.path} could not be written, nothing changed: ${describeError(err)}`, {
        cause: err,
      });
    }
  }

  /** The file as frp writes it; lists omitted when empty (frp's omitempty). */
  private write(): void {
    const doc: Record<string, StoredEntry[]> = {};
    if (this.slots.proxy.size > 0) doc.proxies = this.list('proxy');
    if (this.slots.visitor.size > 0) doc.visitors = this.list('visitor');
    const body = `${JSON.stringify(doc, null, 2)}\n`;
    if (Buffer.byteLength(body) > MAX_STORE_FILE_BYTES) throw new Error(`it would pass ${MAX_STORE_FILE_BYTES} bytes`);
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // A new file of our own (never an existing file or a symlink planted there), renamed over the old one.
    const tmp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeFileSync(fd, body);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.path);
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** The file's two lists, or undefined when there is no file yet (or it is empty). */
  private read(): { proxies: unknown[]; visitors: unknown[] } | undefined {
    let text: string;
    try {
      const fd = openSync(this.path, constants.O_RDONLY);
      try {
        const size = fstatSync(fd).size;
        if (size > MAX_STORE_FILE_BYTES) throw invalid(`store ${this.path}: ${size} bytes, over the ${MAX_STORE_FILE_BYTES} a store file may hold`);
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof BurrowError) throw err;
      throw invalid(`store ${this.path}: cannot read it: ${describeError(err)}`);
    }
    if (text.trim() === '') return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw invalid(`store ${this.path}: not JSON: ${describeError(err)}`);
    }
    if (!isPlainObject(doc)) throw invalid(`store ${this.path}: must be a JSON object with "proxies" and "visitors" lists`);
    const unknown = Object.keys(doc).find((k) => !TOP_KEYS.has(k));
    if (unknown !== undefined) throw invalid(`store ${this.path}: ${unknown}: unknown key (a store file has "proxies" and "visitors")`);
    const list = (key: 'proxies' | 'visitors'): unknown[] => {
      const v = doc[key] ?? [];
      if (!Array.isArray(v)) throw invalid(`store ${this.path}: ${key}: must be a list`);
      if (v.length > MAX_STORE_ENTRIES) throw invalid(`store ${this.path}: ${key}: ${v.length} entries, over the ${MAX_STORE_ENTRIES} a store may hold`);
      return v;
    };
    return { proxies: list('proxies'), visitors: list('visitors') };
  }
}

/**
 * The file's entries and the store's as one list, in the file's order and
 * then the store's. A stored entry replaces a file entry of the same name, as
 * frp's sources merge; the API never creates such a pair, but a file edited
 * afterwards can, and then the clash is logged.
 */
export function withStored<C extends { name: string }>(fromFile: readonly C[], stored: readonly C[], kind: StoreKind, log: Logger): C[] {
  if (stored.length === 0) return [...fromFile];
  const storedNames = new Set(stored.map((c) => c.name));
  for (const c of fromFile) if (storedNames.has(c.name)) log.warn(`the store's ${kind} replaces the config file's of the same name`, { [kind]: c.name });
  return [...fromFile.filter((c) => !storedNames.has(c.name)), ...stored];
}
