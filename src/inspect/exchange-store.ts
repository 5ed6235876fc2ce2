/**
 * The inspector's memory: the last `maxExchanges` exchanges in a ring, and,
 * when a file is given, the same as JSON lines that survive a restart.
 *
 * JSON lines rather than an embedded SQLite: appends are one buffered write
 * per exchange with nothing to install, and the ring is all the page ever
 * shows. The file is rewritten from the ring whenever it holds twice as many
 * lines, so it stays bounded too.
 */
import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, existsSync, openSync, renameSync, writeFileSync, type WriteStream } from 'node:fs';
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
}

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

  constructor(private readonly opts: ExchangeStoreOptions) {
    super();
    this.setMaxListeners(100); // one per open inspector page
  }

  /** Reads back what the file holds (the newest `maxExchanges`), then appends to it. */
  async open(): Promise<void> {
    const file = this.opts.file;
    if (!file) return;
    if (existsSync(file)) {
      const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
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
    if (this.out) {
      const line = serialize(e) + '\n';
      this.lines.set(e, line);
      // Exchanges finished in one turn of the event loop go out in one write.
      if (this.out.writableCorked === 0) {
        const out = this.out;
        out.cork();
        process.nextTick(() => out.uncork());
      }
      this.out.write(line);
      this.linesInFile += 1;
      if (this.linesInFile >= 2 * this.opts.maxExchanges) this.rewriteFile();
    }
    this.emit('added', e);
    return e;
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

  /** The file becomes exactly the ring (written aside, then renamed over), and appends go on after it. */
  /**
   * The file becomes exactly the ring (written aside, then renamed over), and
   * appends go on after it. When that fails (disk full, folder gone) the old
   * stream is kept, the failure reported once per attempt, and the next
   * attempt waits for another ring's worth of lines.
   */
  private rewriteFile(): unknown {
    const file = this.opts.file!;
    const tmp = `${file}.tmp`;
    let fd: number;
    try {
      const body = this.ring.map((e) => this.lines.get(e) ?? serialize(e) + '\n').join('');
      writeFileSync(tmp, `{"nextId":${this.nextId}}\n${body}`, { mode: 0o600 });
      renameSync(tmp, file);
      // Opened now, not lazily by path: writes still queued on the old stream
      // then land in the replaced file, never at the end of the new one.
      fd = openSync(file, 'a', 0o600);
    } catch (err) {
      this.linesInFile = this.opts.maxExchanges;
      this.emit('storeError', err);
      return err;
    }
    this.out?.end();
    this.linesInFile = this.ring.length;
    this.out = createWriteStream('', { fd });
    this.out.on('error', (err) => this.emit('storeError', err));
    return undefined;
  }
}
