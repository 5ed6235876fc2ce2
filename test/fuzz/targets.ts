/** Every fuzz target, in one list for the short pass (test/unit/fuzz.test.ts) and the long one (run.ts). */
import { configTargets } from './config.fuzz.js';
import type { FuzzTarget } from './harness.js';
import { inspectTargets } from './inspect.fuzz.js';
import { logTargets } from './log.fuzz.js';
import { muxTargets } from './mux.fuzz.js';
import { netTargets } from './net.fuzz.js';
import { protocolTargets } from './protocol.fuzz.js';
import { vhostTargets } from './vhost.fuzz.js';

export const allTargets: FuzzTarget[] = [...protocolTargets, ...muxTargets, ...vhostTargets, ...netTargets, ...configTargets, ...logTargets, ...inspectTargets];
