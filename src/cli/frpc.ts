#!/usr/bin/env node
import { sizeHeapForRelay } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the heap (see util/heap-trim.ts).
sizeHeapForRelay();
const { runFrpcCommand } = await import('./frpc-command.js');
runFrpcCommand();
