#!/usr/bin/env node
import { holdYoungGeneration } from '../util/heap-trim.js';

// Before the rest of the command is loaded, which would already grow the young generation (see util/heap-trim.ts).
holdYoungGeneration();
const { runFrpcCommand } = await import('./frpc-command.js');
runFrpcCommand();
