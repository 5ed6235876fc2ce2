#!/usr/bin/env node
import { startCommand } from './start-command.js';

startCommand('frps', async () => (await import('./frps-command.js')).runFrpsCommand);
