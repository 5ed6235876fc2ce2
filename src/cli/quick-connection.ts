import { readSavedLogin, type SavedLogin } from './credentials.js';

/**
 * Where the one-line commands (`burrow login|http|tcp|udp`) connect: the
 * flags, else the login `burrow login` saved. A flag overrides the saved
 * value; a --server other than the saved one takes nothing from it (its
 * token belongs to another server).
 */

/** The connection flags every one-line command takes. */
export const connectionOptions = {
  server: { type: 'string', short: 's' },
  token: { type: 'string', short: 't' },
  'no-tls': { type: 'boolean' },
  'no-mux': { type: 'boolean' },
  fingerprint: { type: 'string' },
} as const;

export interface ConnectionValues {
  server?: string;
  token?: string;
  'no-tls'?: boolean;
  'no-mux'?: boolean;
  fingerprint?: string;
}

/** The connection from the flags over the saved login; throws when neither names a server. */
export function resolveConnection(command: string, values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): SavedLogin {
  const saved = readSavedLogin(env);
  const base = saved && (values.server === undefined || values.server === saved.server) ? saved : undefined;
  const server = values.server ?? base?.server;
  if (server === undefined) throw new Error(`burrow ${command}: no server; give --server <host:port> [--token T], or run "burrow login" once`);
  splitServer(command, server);
  return {
    server,
    token: values.token ?? base?.token ?? '',
    tls: values['no-tls'] ? false : (base?.tls ?? true),
    fingerprint: values.fingerprint ?? base?.fingerprint ?? '',
    mux: values['no-mux'] ? false : (base?.mux ?? true),
  };
}

export function splitServer(command: string, server: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(server);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new Error(`burrow ${command}: --server must be host:port, got "${server}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The common section of a client config (frp's keys) for a connection. */
export function clientSettings(command: string, c: SavedLogin): Record<string, unknown> {
  const { host, port } = splitServer(command, c.server);
  return {
    serverAddr: host,
    serverPort: port,
    auth: { token: c.token },
    transport: {
      tls: { enable: c.tls, ...(c.fingerprint !== '' ? { serverFingerprint: c.fingerprint } : {}) },
      tcpMux: c.mux,
    },
  };
}
