import { parseArgs } from 'node:util';
import { describeError } from '../util/errors.js';
import { adminRequest } from './admin-requests.js';
import { readSavedLogin } from './credentials.js';
import { liveSessions } from './session-files.js';
import { formatStatus, type StatusEntry } from './status-table.js';

export const STATUS_HELP = `Usage: burrow status [--admin <host:port>]

Prints the tunnels of every running "burrow http|tcp|udp" of this user, read
from each one's admin API, in frpc status's table. --admin asks one client's
admin API instead (any burrow or frpc client with webServer.port set and no
password). For a client run from a config file: burrow client status -c <file>.`;

/** Each client gets this long to answer; one that hangs does not hold up the others for long. */
const STATUS_TIMEOUT_MS = 5000;

async function statusOf(host: string, port: number): Promise<string> {
  const res = await adminRequest({ addr: host, port, user: '', password: '' }, 'GET', '/api/status', STATUS_TIMEOUT_MS);
  if (res.status !== 200) throw new Error(`status refused (${res.status}): ${res.text.trim()}`);
  return formatStatus(JSON.parse(res.text) as Record<string, StatusEntry[]>);
}

export async function runStatus(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { admin: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return void console.log(STATUS_HELP);
  if (values.admin !== undefined) {
    const m = /^(.+):(\d{1,5})$/.exec(values.admin);
    if (!m) throw new Error(`burrow status: --admin must be host:port, got "${values.admin}"`);
    return void process.stdout.write(await statusOf(m[1]!.replace(/^\[|\]$/g, ''), Number(m[2])));
  }
  const saved = readSavedLogin();
  console.log(saved ? `logged in to ${saved.server}` : 'not logged in (burrow login --server <host:port> --token T)');
  const sessions = liveSessions();
  if (sessions.length === 0) {
    console.log('no burrow http|tcp|udp is running');
    return;
  }
  for (const s of sessions) {
    console.log(`\nburrow ${s.kind} (pid ${s.pid}, admin http://127.0.0.1:${s.adminPort}/)`);
    try {
      process.stdout.write(await statusOf('127.0.0.1', s.adminPort));
    } catch (err) {
      console.log(`  not answering: ${describeError(err)}`);
    }
  }
}
