#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { holdYoungGeneration } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the young generation (see util/heap-trim.ts).
holdYoungGeneration();
const { runBurrowCommand } = await import('./burrow-command.js');
runBurrowCommand(process.argv.slice(2), fileURLToPath(import.meta.url));
