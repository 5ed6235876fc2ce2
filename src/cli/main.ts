#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { startCommand } from './start-command.js';

startCommand('burrow', async () => {
  const { runBurrowCommand } = await import('./burrow-command.js');
  // `burrow service` installs this bin file, not the module that runs the command.
  return () => runBurrowCommand(process.argv.slice(2), fileURLToPath(import.meta.url));
});
