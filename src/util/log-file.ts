import { appendFileSync, fstatSync, statSync, writeSync } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** YYYYMMDD in local time: the suffix a day's log gets when the next day starts. */
function dayKey(d: Date): string {
  return `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
}

/** What may wait for the disk before new lines are dropped (and counted). */
export const DEFAULT_LOG_QUEUE_BYTES = 1024 * 1024;

export interface FileSinkOptions {
  now?: () => Date;
  /** bound on the lines waiting for the disk (default DEFAULT_LOG_QUEUE_BYTES) */
  maxQueueBytes?: number;
  /** the format of the line that reports dropped lines (default text) */
  format?: 'text' | 'json';
}

/** A logger's `write`, plus what a caller needs to stop cleanly. */
export interface FileSink {
  (line: string): void;
  /** Resolves when every line accepted so far is on disk (or counted as lost). */
  flush(): Promise<void>;
  /** Flushes, then stops: later lines are dropped. Idempotent. */
  close(): Promise<void>;
  /** lines dropped so far because the queue was full or the disk refused them */
  readonly dropped: number;
}

interface Queued {
  day: string;
  text: string;
  bytes: number;
}

type SinkState = 'idle' | 'writing' | 'closed';

/**
 * A log sink for `log.to = <file>`: appends one line per event; when the day
 * changes the file is renamed `<file>.YYYYMMDD` and files older than
 * `maxDays` are deleted (frp's log.maxDays).
 *
 * Writes are asynchronous and batched, so a slow disk never stalls the event
 * loop that relays traffic. The queue is bounded: past it, lines are dropped
 * and counted, and the count is written as a line of its own once there is
 * room again. Whatever is still queued when the process exits is written
 * synchronously from the 'exit' handler, so a clean stop loses nothing.
 */
export function createFileSink(file: string, maxDays: number, options: FileSinkOptions = {}): FileSink {
  const now = options.now ?? (() => new Date());
  const maxQueueBytes = options.maxQueueBytes ?? DEFAULT_LOG_QUEUE_BYTES;
  let current = dayKey(now());
  try {
    current = dayKey(statSync(file).mtime);
  } catch {
    // no file yet: today
  }
  let state: SinkState = 'idle';
  let queue: Queued[] = [];
  let queuedBytes = 0;
  let droppedTotal = 0;
  /** dropped since the last report line */
  let unreported = 0;
  let pump: Promise<void> | undefined;
  let out: FileHandle | undefined;
  /** the file's size after our last confirmed write */
  let size = 0;
  /** the batch taken from the queue and not yet confirmed written, for the 'exit' handler; sizeBefore -1 until it reaches the disk */
  let inFlight: { buf: Buffer; sizeBefore: number } | undefined;

  const closeOut = async (): Promise<void> => {
    const fh = out;
    out = undefined;
    await fh?.close().catch(() => undefined);
  };

  /** One batch, whole: a regular file may still take it in parts. */
  const writeBatch = async (batch: { buf: Buffer; sizeBefore: number }): Promise<void> => {
    if (!out) {
      out = await open(file, 'a');
      size = (await out.stat()).size;
    }
    batch.sizeBefore = size;
    for (let off = 0; off < batch.buf.length; ) off += (await out.write(batch.buf, off)).bytesWritten;
    size += batch.buf.length;
  };

  const dropNotice = (count: number): string => {
    const msg = 'log lines dropped: the log file did not keep up';
    const time = now().toISOString();
    return options.format === 'json' ? JSON.stringify({ time, level: 'warn', msg, count }) : `${time} WARN  ${msg} count=${count}`;
  };

  const enqueue = (text: string): void => {
    const bytes = Buffer.byteLength(text);
    queue.push({ day: dayKey(now()), text, bytes });
    queuedBytes += bytes;
  };

  const drop = (count: number): void => {
    droppedTotal += count;
    unreported += count;
  };

  /** Writes queued lines in batches, one day's lines per batch, until the queue is empty. */
  const run = async (): Promise<void> => {
    while (queue.length > 0) {
      const day = queue[0]!.day;
      let n = 0;
      while (n < queue.length && queue[n]!.day === day) n += 1;
      const batch = queue.slice(0, n);
      queue = queue.slice(n);
      for (const q of batch) queuedBytes -= q.bytes;
      const taken = { buf: Buffer.from(batch.map((q) => q.text).join('')), sizeBefore: -1 };
      inFlight = taken;
      if (day !== current) {
        await closeOut();
        await rename(file, `${file}.${current}`).catch(() => undefined); // nothing written that day
        current = day;
        await prune(file, maxDays, now()).catch(() => undefined); // pruning again tomorrow
      }
      try {
        await writeBatch(taken);
      } catch {
        drop(batch.length);
        await closeOut(); // reopened for the next batch: the file may have been moved or its disk remounted
      } finally {
        inFlight = undefined;
      }
    }
  };

  const start = (): void => {
    if (state !== 'idle') return;
    state = 'writing';
    pump = run().finally(() => {
      pump = undefined;
      if (state !== 'writing') return;
      state = 'idle';
      if (queue.length > 0) start(); // queued between the loop's last check and here
    });
  };

  /**
   * A batch handed to the disk may or may not have been written when the
   * process exits: the file's size tells which part is missing.
   */
  const onExit = (): void => {
    if (unreported > 0) enqueue(dropNotice(unreported) + '\n');
    unreported = 0;
    const text = queue.map((q) => q.text).join('');
    queue = [];
    queuedBytes = 0;
    try {
      if (out && inFlight && inFlight.sizeBefore >= 0) {
        const done = Math.max(0, fstatSync(out.fd).size - inFlight.sizeBefore);
        if (done < inFlight.buf.length) writeSync(out.fd, inFlight.buf, done);
      } else if (inFlight) {
        appendFileSync(file, inFlight.buf);
      }
      if (text) appendFileSync(file, text);
    } catch {
      // exiting: nowhere left to report it
    }
  };
  process.on('exit', onExit);

  const sink = ((line: string): void => {
    if (state === 'closed') {
      drop(1);
      return;
    }
    const text = line + '\n';
    const notice = unreported > 0 ? dropNotice(unreported) + '\n' : '';
    if (queuedBytes + Buffer.byteLength(notice) + Buffer.byteLength(text) > maxQueueBytes) {
      drop(1);
      return;
    }
    if (notice) {
      enqueue(notice);
      unreported = 0;
    }
    enqueue(text);
    start();
  }) as FileSink;

  sink.flush = async (): Promise<void> => {
    while (pump) await pump;
    if (unreported > 0 && state !== 'closed') {
      enqueue(dropNotice(unreported) + '\n');
      unreported = 0;
      start();
      while (pump) await pump;
    }
  };
  sink.close = async (): Promise<void> => {
    if (state === 'closed') return;
    await sink.flush();
    state = 'closed';
    process.off('exit', onExit);
    await closeOut();
  };
  Object.defineProperty(sink, 'dropped', { get: () => droppedTotal });
  return sink;
}

async function prune(file: string, maxDays: number, now: Date): Promise<void> {
  if (maxDays <= 0) return;
  const oldest = new Date(now);
  oldest.setDate(oldest.getDate() - maxDays);
  const limit = dayKey(oldest);
  const prefix = basename(file) + '.';
  for (const name of await readdir(dirname(file))) {
    const suffix = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (/^\d{8}$/.test(suffix) && suffix < limit) await unlink(join(dirname(file), name));
  }
}
