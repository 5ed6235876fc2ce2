import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const SERVICE_HELP = `Usage: burrow service install server|client -c <file> [--name <unit>] [--user <name>] [--unit-dir <dir>] [--dry-run] [--force]

Prints the systemd unit that runs "burrow server -c <file>" (or client) at
boot and restarts it when it fails, then writes it to <unit-dir>/<unit>.service
(default /etc/systemd/system, unit burrow-server or burrow-client). With
--dry-run it only prints. It never runs systemctl: it prints the two commands
that start the service. The token stays in the config file (keep it 0600),
not in the unit, which is world-readable.

Options:
  -c <file>          the config file (frp's formats; required)
  --name <unit>      the unit's name, for several clients on one machine
  --user <name>      run as this user (the server may then still bind ports below 1024)
  --unit-dir <dir>   where to write the unit (default /etc/systemd/system)
  --dry-run          print the unit, write nothing
  --force            replace a different unit of the same name`;

export interface UnitSpec {
  role: 'server' | 'client';
  /** absolute */
  configFile: string;
  /** the node binary and the burrow entry script, absolute */
  node: string;
  script: string;
  user?: string;
}

/** systemd splits ExecStart on spaces and reads quotes and specifiers: quote every word that needs it. */
function execWord(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /^[A-Za-z0-9_./:@=+-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, '\\$1')}"`;
}

/** The unit's text: pure, so the test reads it. */
export function renderUnit(spec: UnitSpec): string {
  const exec = [spec.node, spec.script, spec.role, '-c', spec.configFile].map(execWord).join(' ');
  const lines = [
    '[Unit]',
    `Description=burrow ${spec.role} (frp-compatible tunnel)`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    // SIGHUP re-reads the client's proxies without dropping the connection, as `burrow client` does on SIGHUP.
    ...(spec.role === 'client' ? ['ExecReload=/bin/kill -HUP $MAINPID'] : []),
    'Restart=on-failure',
    'RestartSec=5s',
    ...(spec.user !== undefined ? [`User=${spec.user}`] : []),
    // The server's vhost ports are often 80 and 443; an unprivileged user may still bind them, and nothing more.
    ...(spec.user !== undefined && spec.role === 'server' ? ['AmbientCapabilities=CAP_NET_BIND_SERVICE'] : []),
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}

export function runService(args: string[], entryScript: string): void {
  const [action, role, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') return void console.log(SERVICE_HELP);
  if (action !== 'install') throw new Error(`burrow service: unknown action "${action}"; only "install" (see burrow service --help)`);
  if (role !== 'server' && role !== 'client') throw new Error('burrow service install: say which: server or client');
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      name: { type: 'string' },
      user: { type: 'string' },
      'unit-dir': { type: 'string' },
      'dry-run': { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(SERVICE_HELP);
  if (values.config === undefined) throw new Error(`burrow service install ${role}: -c <file> is required (the token belongs in that file, not in the unit)`);
  const configFile = resolve(values.config);
  if (!existsSync(configFile)) throw new Error(`burrow service install ${role}: ${configFile} does not exist`);
  const name = values.name ?? `burrow-${role}`;
  if (!/^[A-Za-z0-9_.@-]{1,200}$/.test(name)) throw new Error(`burrow service install: --name "${name}" is not a unit name`);
  if (values.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(values.user))
    throw new Error(`burrow service install: --user "${values.user}" is not a user name`);
  const script = realpathSync(entryScript);
  const unit = renderUnit({ role, configFile, node: process.execPath, script, ...(values.user !== undefined ? { user: values.user } : {}) });
  const file = join(values['unit-dir'] ?? '/etc/systemd/system', `${name}.service`);
  if (/[\\/]_npx[\\/]/.test(script)) {
    console.error(`burrow service: this burrow runs from npx's cache, which npm may clear; install it first (npm install -g burrow-tunnel) and run this again`);
  }
  console.log(`# ${file}\n${unit}`);
  if (values['dry-run']) return void console.log('(dry run: nothing written)');
  if (existsSync(file) && readFileSync(file, 'utf8') !== unit && !values.force) {
    throw new Error(`burrow service install: ${file} exists and differs; --force replaces it`);
  }
  writeFileSync(file, unit, { mode: 0o644 });
  console.log(`wrote ${file}; start it with:\n  systemctl daemon-reload\n  systemctl enable --now ${name}`);
}
