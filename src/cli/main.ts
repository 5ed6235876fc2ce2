#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { sizeHeapForRelay } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the heap (see util/heap-trim.ts).
sizeHeapForRelay();
const { runBurrowCommand } = await import('./burrow-command.js');
runBurrowCommand(process.argv.slice(2), fileURLToPath(import.meta.url));
