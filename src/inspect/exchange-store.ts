/**
 * The inspector's memory: the last `maxExchanges` exchanges in a ring, and,
 * when a file is given, the same as JSON lines that survive a restart.
 *
 * JSON lines rather than an embedded SQLite: appends are one buffered write
 * per exchange with nothing to install, and the ring is all the page ever
 * shows. The file is rewritten from the ring whenever it holds twice as many
 * lines, or would pass `maxStoreBytes`, so it stays bounded in both.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, constants, createWriteStream, openSync, renameSync, unlinkSync, writeSync, type WriteStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { BurrowError, describeError } from '../util/errors.js';
import type { HeaderList } from '../vhost/head-scanner.js';
import type { Exchange, NewExchange, RecordedBody } from './exchange.js';

export interface ExchangeStoreOptions {
  maxExchanges: number;
  /** bound on the stored bodies' bytes together; the oldest go first (default: no bound beyond the count) */
  maxBodyBytes?: number;
  /** JSON lines file; absent = memory only */
  file?: string;
  /** bound on the file's size; a rewrite keeps the newest exchanges that fit in half of it (default DEFAULT_MAX_STORE_BYTES) */
  maxStoreBytes?: number;
}

/**
 * The file is read back whole at start-up and the ring already bounds memory
 * (STORED_BODY_BYTES of bodies), so the file needs no more than a useful
 * slice of that on disk: enough for hundreds of typical exchanges, small
 * enough that a developer's disk and the start-up read do not notice it.
 */
export const DEFAULT_MAX_STORE_BYTES = 64 * 1024 * 1024;
/** Room kept for the `{"nextId":N}` line that heads a rewritten file. */
const MARK_RESERVE = 32;
/** Created new (never an existing file or a symlink) and appended to through the same descriptor after the rename. */
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW;

interface StoredBody {
  base64: string;
  size: number;
  truncated: boolean;
}

const toStored = (b: RecordedBody): StoredBody => ({ base64: b.bytes.toString('base64'), size: b.size, truncated: b.truncated });
const fromStored = (b: StoredBody): RecordedBody => ({ bytes: Buffer.from(b.base64, 'base64'), size: b.size, truncated: b.truncated });

function serialize(e: Exchange): string {
  const request = { ...e.request, body: toStored(e.request.body) };
  const response = e.response ? { ...e.response, body: toStored(e.response.body) } : undefined;
  return JSON.stringify({ ...e, request, ...(response ? { response } : {}) });
}

function isHeaderList(v: unknown): v is HeaderList {
  return Array.isArray(v) && v.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string');
}

function isStoredBody(v: unknown): v is StoredBody {
  const b = v as StoredBody | undefined;
  return typeof b === 'object' && b !== null && typeof b.base64 === 'string' && typeof b.size === 'number' && typeof b.truncated === 'boolean';
}

/** One line back into an exchange; undefined for a line that is not one of ours (cut short, edited). */
function deserialize(line: string): Exchange | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const req = v.request as Record<string, unknown> | undefined;
  const res = v.response as Record<string, unknown> | undefined;
  if (typeof v.id !== 'number' || typeof v.proxy !== 'string' || typeof v.visitor !== 'string') return undefined;
  if (typeof v.startedAt !== 'number' || !Number.isFinite(v.startedAt) || typeof v.durationMs !== 'number') return undefined;
  if (!req || typeof req.method !== 'string' || typeof req.target !== 'string' || !isHeaderList(req.headers) || !isStoredBody(req.body)) return undefined;
  if (res !== undefined && (typeof res.status !== 'number' || !isHeaderList(res.headers) || !isStoredBody(res.body))) return undefined;
  const e = v as unknown as Exchange;
  return {
    ...e,
    request: { ...e.request, body: fromStored(req.body) },
    ...(res ? { response: { ...e.response!, body: fromStored(res.body as StoredBody) } } : {}),
  };
}

const bodyBytes = (e: Exchange): number => e.request.body.bytes.length + (e.response?.body.bytes.length ?? 0);

/** Emits 'added' (Exchange) and 'cleared'. */
export class ExchangeStore extends EventEmitter {
  private ring: Exchange[] = [];
  /** each ring entry's JSON line, kept when a file is used, so rewriting the file serializes nothing */
  private lines = new WeakMap<Exchange, string>();
  private ringBodyBytes = 0;
  private nextId = 1;
  private out: WriteStream | undefined;
  private linesInFile = 0;
  private bytesInFile = 0;
  /** adds left before a failed rewrite is tried again, so a full disk is not retried (and reported) on every exchange */
  private rewritePause = 0;
  private readonly maxStoreBytes: number;

  constructor(private readonly opts: ExchangeStoreOptions) {
    super();
    this.setMaxListeners(100); // one per open inspector page
    this.maxStoreBytes = opts.maxStoreBytes ?? DEFAULT_MAX_STORE_BYTES;
  }

  /** A line larger than this would not fit in a rewritten file, so it stays in memory only. */
  private get lineBudget(): number {
    return Math.floor(this.maxStoreBytes / 2) - MARK_RESERVE;
  }

  /** Reads back what the file holds (the newest `maxExchanges`), then appends to it. */
  async open(): Promise<void> {
    const file = this.opts.file;
    if (!file) return;
    // Not through a symlink (unlike a plain open): the rewrite below replaces one with our own file.
    const fh = await openFile(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ELOOP') return undefined;
      throw new BurrowError('BURROW_CONFIG_INVALID', `inspect.store: cannot read ${file}: ${describeError(err)}`);
    });
    if (fh) {
      // Only the tail a file of this bound could hold: an older, larger file costs no more to read.
      const { size } = await fh.stat();
      const input = fh.createReadStream({ start: Math.max(0, size - this.maxStoreBytes) });
      const lines = createInterface({ input, crlfDelay: Infinity });
      for await (const line of lines) {
        // The first line of a rewritten file carries the id high-water mark, so ids stay unique after a clear.
        const mark = /^\{"nextId":(\d{1,15})\}$/.exec(line);
        if (mark) this.nextId = Math.max(this.nextId, Number(mark[1]));
        const e = mark || line.trim() === '' ? undefined : deserialize(line);
        if (!e) continue;
        this.push(e);
        this.nextId = Math.max(this.nextId, e.id + 1);
      }
    }
    const failed = this.rewriteFile();
    if (failed !== undefined) {
      throw new BurrowError('BURROW_CONFIG_INVALID', `inspect.store: cannot write ${file}: ${describeError(failed)}`);
    }
  }

  /** Never throws: a file that cannot be written is reported as 'storeError' and the ring goes on. */
  add(fresh: NewExchange): Exchange {
    const e: Exchange = { id: this.nextId++, ...fresh };
    this.push(e);
    if (this.out) this.persist(e);
    this.emit('added', e);
    return e;
  }

  /** Appends `e` (already in the ring) to the file, or rewrites the file when it is full. */
  private persist(e: Exchange): void {
    const line = serialize(e) + '\n';
    this.lines.set(e, line);
    const size = Buffer.byteLength(line);
    if (size > this.lineBudget) return;
    const overBytes = this.bytesInFile + size > this.maxStoreBytes;
    if (overBytes || this.linesInFile + 1 >= 2 * this.opts.maxExchanges) {
      // The ring already holds e, so a rewrite that succeeds has written it.
      if (this.rewritePause === 0) {
        if (this.rewriteFile() === undefined) return;
      } else {
        this.rewritePause -= 1;
      }
      // Until a rewrite succeeds, e goes to the old file only if the file stays within its bound.
      if (overBytes) return;
    }
    const out = this.out!;
    // Exchanges finished in one turn of the event loop go out in one write.
    if (out.writableCorked === 0) {
      out.cork();
      process.nextTick(() => out.uncork());
    }
    out.write(line);
    this.linesInFile += 1;
    this.bytesInFile += size;
  }

  /** Oldest first. */
  all(): readonly Exchange[] {
    return this.ring;
  }

  get(id: number): Exchange | undefined {
    // ids increase along the ring: a binary search would do, but 500 entries scan fast enough.
    return this.ring.find((e) => e.id === id);
  }

  /** Appends to the ring, then drops the oldest past either bound (the newest always stays). */
  private push(e: Exchange): void {
    this.ring.push(e);
    this.ringBodyBytes += bodyBytes(e);
    const maxBytes = this.opts.maxBodyBytes ?? Infinity;
    while (this.ring.length > 1 && (this.ring.length > this.opts.maxExchanges || this.ringBodyBytes > maxBytes)) {
      this.ringBodyBytes -= bodyBytes(this.ring.shift()!);
    }
  }

  clear(): void {
    this.ring = [];
    this.ringBodyBytes = 0;
    if (this.out) this.rewriteFile();
    this.emit('cleared');
  }

  async close(): Promise<void> {
    const out = this.out;
    this.out = undefined;
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }

  /**
   * The file becomes the newest run of the ring that fits in half of
   * `maxStoreBytes` (written aside, then renamed over), and appends go on
   * after it. The temp file has a random name and is created exclusively
   * without following symlinks, and the same descriptor is appended to after
   * the rename: nobody sharing the folder can point our writes elsewhere.
   * When that fails (disk full, folder gone) the old stream is kept, the
   * failure reported once per attempt, and the next attempt waits for another
   * ring's worth of exchanges.
   */
  private rewriteFile(): unknown {
    const file = this.opts.file!;
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const kept: string[] = [];
    let keptBytes = 0;
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const e = this.ring[i]!;
      const line = this.lines.get(e) ?? serialize(e) + '\n';
      this.lines.set(e, line);
      const size = Buffer.byteLength(line);
      if (size > this.lineBudget) continue;
      if (keptBytes + size > this.lineBudget) break;
      kept.push(line);
      keptBytes += size;
    }
    const text = `{"nextId":${this.nextId}}\n${kept.reverse().join('')}`;
    let fd: number | undefined;
    try {
      fd = openSync(tmp, CREATE_EXCLUSIVE, 0o600);
      writeSync(fd, text);
      renameSync(tmp, file);
    } catch (err) {
      if (fd !== undefined) {
        closeSync(fd);
        try {
          unlinkSync(tmp);
        } catch {
          // already gone with its folder
        }
      }
      this.rewritePause = this.opts.maxExchanges;
      this.emit('storeError', err);
      return err;
    }
    // Writes still queued on the old stream land in the replaced file, never at the end of the new one.
    this.out?.end();
    this.linesInFile = kept.length;
    this.bytesInFile = Buffer.byteLength(text);
    this.rewritePause = 0;
    this.out = createWriteStream('', { fd });
    this.out.on('error', (err) => this.emit('storeError', err));
    return undefined;
  }
}
