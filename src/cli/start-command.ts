import { sizeHeapForRelay } from '../util/heap-trim.js';

/**
 * What each bin file (main.ts, frps.ts, frpc.ts) does: size the heap before
 * the command's modules load (loading them is itself a burst that would grow
 * it, see util/heap-trim.ts), then load and run the command. This file imports
 * nothing else, so the flags are set first.
 */
export function startCommand(name: string, load: () => Promise<() => void>): void {
  sizeHeapForRelay();
  load().then(
    (run) => run(),
    (err: unknown) => {
      // A broken install (a file missing from dist/): one line instead of a stack.
      console.error(`${name}: cannot load the command: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
