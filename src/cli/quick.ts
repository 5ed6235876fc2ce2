import { createServer as createNetServer } from 'node:net';
import { parseArgs } from 'node:util';
import { buildClientConfig } from '../config/load.js';
import type { ClientConfig } from '../config/types.js';
import type { BurrowClient } from '../client/client.js';
import { type LiveOutput, LiveView, followClient } from './live-view.js';
import { loggerFrom } from './process-setup.js';
import { clientSettings, connectionOptions, resolveConnection, splitServer } from './quick-connection.js';
import {
  cannotName,
  picksName,
  proxyName,
  publicUrl,
  type QuickKind,
  type QuickTunnelSpec,
  quickProxy,
  randomLabel,
  watchNameClashes,
} from './quick-tunnel.js';
import { runClient } from './run-client.js';
import { recordSession } from './session-files.js';

/**
 * `burrow http|tcp|udp <localPort>`: one tunnel from the command line, to the
 * server given or the one `burrow login` saved, with a live view of it.
 */

const CONNECTION_HELP = `  --server <host:port>   the burrow or frps server (default: the one "burrow login" saved)
  --token <T>            auth token (default: the saved one, else empty)
  --local-ip <ip>        local address (default 127.0.0.1)
  --no-tls               talk plain TCP to the server (TLS is on by default, as frpc)
  --fingerprint <sha256:…>  the server certificate it must present (printed by burrow server at start)
  --no-mux               one TCP connection per work connection (tcpMux off)
  --log-level <L>        log to stderr from this level (default: info; error while the live view is on a terminal)`;

export const QUICK_HELP: Record<QuickKind, string> = {
  http: `Usage: burrow http <localPort> [--subdomain <name> | --domain <host>] [options]

Exposes a local web service through the server's HTTP vhost and prints its
public URL. Without --subdomain or --domain it picks a random, unguessable
subdomain under the server's subDomainHost (another one if that is taken).
Every request is recorded for the inspector page (like ngrok's), where each
can be read in full and replayed; on a terminal the last requests are shown
live (method, path, status, duration), otherwise one line each.

Options:
  --subdomain <name>     <name>.<server's subDomainHost>
  --domain <host>        a custom domain pointed at the server (repeatable)
  --inspect-port <N>     the inspector page's port (default 4040, or any free one if taken)
  --no-inspect           do not record requests (no page, no request list)
${CONNECTION_HELP}`,
  tcp: `Usage: burrow tcp <localPort> [--remote-port N] [options]

Exposes one local TCP port on a public port of the server.

Options:
  --remote-port <N>      public port to ask for (default 0: the server picks)
${CONNECTION_HELP}`,
  udp: `Usage: burrow udp <localPort> [--remote-port N] [options]

Exposes one local UDP port on a public port of the server.

Options:
  --remote-port <N>      public port to ask for (default 0: the server picks)
${CONNECTION_HELP}`,
};

/** ngrok's inspector address: the first port tried for `burrow http`'s page. */
const INSPECT_PORT = 4040;

async function portIsFree(port: number): Promise<boolean> {
  const probe = createNetServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function portArg(command: string, what: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < min || n > 65535) {
    throw new Error(`burrow ${command}: ${what} must be ${min}–65535, got "${value ?? ''}"`);
  }
  return n;
}

export async function runQuick(kind: QuickKind, args: string[], out: LiveOutput = process.stdout): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      ...connectionOptions,
      help: { type: 'boolean', short: 'h' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'local-ip': { type: 'string' },
      'remote-port': { type: 'string', short: 'r' },
      subdomain: { type: 'string' },
      domain: { type: 'string', short: 'd', multiple: true },
      'inspect-port': { type: 'string' },
      'no-inspect': { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(QUICK_HELP[kind]);
  if (positionals.length > 1) throw new Error(`burrow ${kind}: one local port only, got ${positionals.join(' ')}`);
  const localPort = portArg(kind, 'the local port', positionals[0], 1);
  const http = kind === 'http';
  for (const flag of ['subdomain', 'domain', 'inspect-port', 'no-inspect'] as const) {
    if (!http && values[flag] !== undefined) throw new Error(`burrow ${kind}: --${flag} is for burrow http only`);
  }
  if (http && values['remote-port'] !== undefined) throw new Error('burrow http: --remote-port is for tcp and udp; http is reached by name');
  const connection = resolveConnection(kind, values);
  const inspect = http && !values['no-inspect'];
  const spec: QuickTunnelSpec = {
    kind,
    localIP: values['local-ip'] ?? '127.0.0.1',
    localPort,
    inspect,
    ...(values.subdomain !== undefined ? { subdomain: values.subdomain } : {}),
    ...(values.domain !== undefined ? { domains: values.domain } : {}),
    ...(values['remote-port'] !== undefined ? { remotePort: portArg(kind, '--remote-port', values['remote-port'], 0) } : {}),
  };
  // As ngrok: the page on 4040 when it is free, else on any free port. tcp/udp get an API on any port, for `burrow status`.
  const adminPort = inspect
    ? values['inspect-port'] !== undefined
      ? portArg(kind, '--inspect-port', values['inspect-port'], 0)
      : (await portIsFree(INSPECT_PORT))
        ? INSPECT_PORT
        : 0
    : 0;
  const label = picksName(spec) ? randomLabel() : undefined;
  const configFor = (l: string | undefined): ClientConfig =>
    buildClientConfig(
      { ...clientSettings(kind, connection), webServer: { addr: '127.0.0.1', port: adminPort }, proxies: [quickProxy(spec, l)] },
      'command line',
    );
  const tty = out.isTTY === true;
  // On a terminal the live view is the report; logs below error would scroll it away.
  const log = loggerFrom({ ...values, 'log-level': values['log-level'] ?? (tty ? 'error' : undefined) });
  const serverHost = splitServer(kind, connection.server).host;

  let running: BurrowClient | undefined;
  await runClient(configFor(label), log, {
    alwaysAdmin: true,
    attach: (client, port) => {
      running = client;
      const view = new LiveView(out, {
        kind,
        connection: 'connecting',
        detail: '',
        server: connection.server,
        url: '',
        local: `${spec.localIP}:${localPort}`,
        inspect: inspect && port !== undefined ? `http://127.0.0.1:${port}/#inspect` : '',
      });
      const names =
        label !== undefined
          ? watchNameClashes(
              client,
              spec,
              label,
              (next) => client.reload(configFor(next)),
              (reason) => view.update({ detail: `no free name: ${reason}` }),
            )
          : undefined;
      const current = (): string => names?.current() ?? proxyName(spec, undefined);
      const unfollow = followClient(view, client, current, (s) => publicUrl(kind, s.remoteAddr, serverHost));
      const forget = port !== undefined ? recordSession({ pid: process.pid, kind, adminPort: port, startedAt: Date.now() }) : () => {};
      const detach = (): void => {
        names?.stop();
        unfollow();
        view.update({ connection: 'stopped', detail: '' });
        view.close();
        forget();
      };
      // A failed first login ends the process without the shutdown hook: the record must go all the same.
      process.once('exit', detach);
      return detach;
    },
  });
  // A burrow server said at login whether it can name tunnels at all: say why not rather than relay a refusal (frps says nothing; its refusal is shown).
  const why = label !== undefined ? cannotName(running?.serverInfo) : undefined;
  if (why !== undefined) throw new Error(`burrow http: cannot pick a name: ${why}`);
}
