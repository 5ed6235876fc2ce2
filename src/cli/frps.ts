#!/usr/bin/env node
import { sizeHeapForRelay } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the heap (see util/heap-trim.ts).
sizeHeapForRelay();
import('./frps-command.js').then(
  ({ runFrpsCommand }) => runFrpsCommand(),
  (err: unknown) => {
    // A broken install (a file missing from dist/): one line instead of a stack.
    console.error(`frps: cannot load the command: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
