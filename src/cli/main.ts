#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { sizeHeapForRelay } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the heap (see util/heap-trim.ts).
sizeHeapForRelay();
import('./burrow-command.js').then(
  ({ runBurrowCommand }) => runBurrowCommand(process.argv.slice(2), fileURLToPath(import.meta.url)),
  (err: unknown) => {
    // A broken install (a file missing from dist/): one line, as every other failure of the command reads.
    console.error(`burrow: cannot load the command: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
