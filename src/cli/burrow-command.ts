import { parseArgs } from 'node:util';
import { loadClientConfig } from '../config/load.js';
import { reloadClient, showClientStatus, stopClient } from './client-admin-commands.js';
import { runConvert, runVerify } from './config-commands.js';
import { loggerFrom, onShutdown } from './process-setup.js';
import { runService } from './service-command.js';
import { runStatus } from './status-command.js';
import { runServerCommand, SERVER_FLAGS_HELP } from './server-command.js';
import { parseAllowUnsafe } from '../config/value-source.js';
import { describeError, isBurrowError } from '../util/errors.js';
import { BURROW_VERSION, FRP_COMPAT_VERSION } from '../util/version.js';

// Each command's module graph loads when that command runs: `burrow --version`
// or `burrow client` need not compile the server (see server-command.ts), the demo
// or the quick tunnels.
const runClient: typeof import('./run-client.js').runClient = async (...args) => (await import('./run-client.js')).runClient(...args);
const runQuick: typeof import('./quick.js').runQuick = async (...args) => (await import('./quick.js')).runQuick(...args);
const runLogin: typeof import('./login-command.js').runLogin = async (...args) => (await import('./login-command.js')).runLogin(...args);
const runLogout = async (args: string[]): Promise<void> => (await import('./login-command.js')).runLogout(args);
const startDemo: typeof import('../demo/demo.js').startDemo = async (...args) => (await import('../demo/demo.js')).startDemo(...args);

const HELP: Record<string, string> = {
  main: `burrow ${BURROW_VERSION} — a self-hosted tunnel, wire-compatible with frp ${FRP_COMPAT_VERSION}

Usage:
  burrow server -c <frps.toml>        run the public side
  burrow client -c <frpc.toml>        run the private side
  burrow login --server <host:port> --token T
                                      check and save the server for the commands below
  burrow http <localPort>             expose a local web service at a random
                                      http://<name>.<server's subDomainHost>, with a
                                      live view and an inspector page on :4040
  burrow tcp|udp <localPort>          expose one local TCP/UDP port
  burrow status                       the tunnels of the running burrow http|tcp|udp
  burrow logout                       forget the saved server
  burrow service install server|client -c <file> [--dry-run]
                                      a systemd unit that runs it at boot
  burrow demo                         server + client + local service on loopback
  burrow verify -c <file>             check a config file (frp INI/TOML/YAML/JSON)
  burrow convert -c <file> --to toml  rewrite a config (e.g. frpc.ini) as frp TOML
  burrow --version

Run "burrow <command> --help" for the options of a command.`,
  server: `Usage: burrow server [-c <file>] [--allow-empty-token] [--allow-unsafe=TokenSourceExec] [--log-level L] [--log-format text|json]
       burrow server [frps flags: -t TOKEN -p PORT --subdomain-host H --vhost-http-port N …]

Runs the public side. The config file is frp's: frps.toml, frps.ini (legacy),
YAML or JSON. Without one, frps's flags describe the server (all of them:
${SERVER_FLAGS_HELP}),
with burrow's defaults: it listens on 0.0.0.0:7000, and an empty token is
refused unless --allow-empty-token is given (the config key is
auth.allowEmptyToken = true); on a loopback address an empty token is fine.

Without transport.tls.certFile the server makes its own certificate and keeps
it beside the config file (burrow-server-cert.pem / burrow-server-key.pem,
or in transport.tls.generatedCertDir), so its fingerprint, printed at start,
stays the same: clients pin it with transport.tls.serverFingerprint.`,
  client: `Usage: burrow client -c <file> [--allow-unsafe=TokenSourceExec] [--log-level L] [--log-format text|json]

Runs the private side with frp's config file: frpc.toml, frpc.ini (legacy),
YAML or JSON. SIGHUP re-reads the file and applies proxy changes without
dropping the connection to the server or the unchanged tunnels.

       burrow client reload|status|stop -c <file>

Asks the running client (through its admin API, webServer.port / admin_port)
to re-read its file, to show its proxies, or to stop, as frpc reload|status|stop do.`,
  demo: `Usage: burrow demo

Starts a server, a client and a small local HTTP service in this process on
loopback, opens a tcp tunnel to the service, checks it end to end and prints
the address to try. Ctrl-C stops everything.`,
};

const common = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'allow-unsafe': { type: 'string', multiple: true },
} as const;

/** `burrow client reload|status|stop` give the running client this long to answer. */
const BURROW_ADMIN_TIMEOUT_MS = 10_000;
const ADMIN_ACTIONS = { reload: reloadClient, status: showClientStatus, stop: stopClient } as const;

async function runClientCommand(args: string[]): Promise<void> {
  const action = args[0] === 'reload' || args[0] === 'status' || args[0] === 'stop' ? args[0] : undefined;
  const { values } = parseArgs({ args: action ? args.slice(1) : args, options: common, strict: true });
  if (values.help) return void console.log(HELP.client);
  if (!values.config) throw new Error(`burrow client needs a config file: burrow client ${action ? `${action} ` : ''}-c frpc.toml`);
  const warnings: string[] = [];
  const allowUnsafe = parseAllowUnsafe(values['allow-unsafe'] ?? []);
  // reload/status/stop only read the admin address: a token program is not run for them.
  const config = loadClientConfig(values.config, { allowUnsafe, runTokenExec: !action, onWarning: (w) => warnings.push(w) });
  if (action) {
    if (config.webServer.port <= 0) throw new Error(`burrow client ${action} needs the admin API: set webServer.port (admin_port in INI)`);
    return ADMIN_ACTIONS[action](config.webServer, BURROW_ADMIN_TIMEOUT_MS, 'burrow');
  }
  const log = loggerFrom(values, config.log);
  for (const w of warnings) log.warn(`config: ${w}`);
  await runClient(config, log, { configFile: values.config, allowUnsafe });
}

async function runDemo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: common, strict: true });
  if (values.help) return void console.log(HELP.demo);
  const log = loggerFrom(values, { level: 'warn' });
  const demo = await startDemo(log);
  console.log(`burrow demo is running (server, client and a local service in this process, on loopback)

  server     127.0.0.1:${demo.server.port}   (TLS + yamux, as frp's defaults)
  tunnel     tcp proxy "demo-web"  127.0.0.1${demo.client.status('demo-web')?.remoteAddr ?? ''} → ${demo.client.status('demo-web')?.localAddr ?? ''}
  vhost      http proxy "demo-http"  ${demo.httpUrl} → ${demo.client.status('demo-http')?.localAddr ?? ''}
  checked    a request went through each and came back
  dashboard  ${demo.dashboardUrl}   (server: clients, proxies, traffic)
  admin      ${demo.adminUrl}   (client: proxies and their state)
  inspect    ${demo.adminUrl}#inspect   (each request through demo-http, replay with a click)

Try it:
  curl ${demo.url}
  curl --data 'echo me' ${demo.url}
  curl ${demo.httpUrl}

Press Ctrl-C to stop.`);
  onShutdown(async () => {
    await demo.stop();
    console.log('burrow demo stopped');
  });
}

async function main(argv: string[], entryFile: string): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(HELP.main);
      return;
    case '-v':
    case '--version':
    case 'version':
      console.log(`burrow ${BURROW_VERSION} (frp protocol ${FRP_COMPAT_VERSION})`);
      return;
    case 'server':
      return runServerCommand(rest, HELP.server);
    case 'client':
      return runClientCommand(rest);
    case 'tcp':
    case 'udp':
    case 'http':
      return runQuick(command, rest);
    case 'login':
      return runLogin(rest);
    case 'logout':
      return runLogout(rest);
    case 'status':
      return runStatus(rest);
    case 'service':
      return runService(rest, entryFile);
    case 'demo':
      return runDemo(rest);
    case 'verify':
      return runVerify(rest);
    case 'convert':
      return runConvert(rest);
    default:
      throw new Error(`unknown command "${command}"; run "burrow --help"`);
  }
}

/** `burrow <command>`; `entryFile` is the bin file the command was started from (what `burrow service` installs). */
export function runBurrowCommand(argv: string[], entryFile: string): void {
  main(argv, entryFile).catch((err: unknown) => {
    const text = isBurrowError(err) || err instanceof Error ? describeError(err) : String(err);
    console.error(`burrow: ${text}`);
    process.exit(1);
  });
}
