#!/usr/bin/env node
import { startCommand } from './start-command.js';

startCommand('frpc', async () => (await import('./frpc-command.js')).runFrpcCommand);
