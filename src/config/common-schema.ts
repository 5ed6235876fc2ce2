import { bool, count, port, seconds, str, type SchemaNode } from './schema-engine.js';

/**
 * The parts of frp's TOML format that the server and the client files share
 * (FRP-PROTOCOL.md §9.2, §9.3): auth, log, QUIC, TLS files, the web server.
 */

export const AUTH_SCOPES = ['HeartBeats', 'NewWorkConns'] as const;

/**
 * `auth.tokenSource`: the token read from somewhere else than the file, as frp:
 * `file` (its trimmed text) or `exec` (a program's trimmed standard output,
 * allowed only with `--allow-unsafe=TokenSourceExec`). Load resolves it into
 * `auth.token` (value-source.ts).
 */
export const valueSource = {
  kind: 'object',
  optional: true,
  required: ['type', 'file', 'exec'],
  fields: {
    type: { kind: 'string', oneOf: ['file', 'exec'] },
    file: { kind: 'object', required: ['path'], fields: { path: str() } },
    exec: {
      kind: 'object',
      required: ['command'],
      fields: {
        /** a path, or a name looked up in PATH; run without a shell */
        command: str(),
        args: { kind: 'stringList' },
        /** added to the inherited environment */
        env: { kind: 'list', item: { kind: 'object', required: ['name'], fields: { name: str(), value: str() } } },
      },
    },
  },
  variant: { key: 'type', label: 'tokenSource type', only: { file: ['file'], exec: ['exec'] } },
} as const satisfies SchemaNode;

export const authBase = {
  method: { kind: 'string', default: 'token', oneOf: ['token', 'oidc'] },
  /** after load: the token from `tokenSource` when one is configured */
  token: str(),
  tokenSource: valueSource,
  additionalScopes: { kind: 'stringList', oneOf: AUTH_SCOPES },
} as const satisfies Record<string, SchemaNode>;

export const logSchema = {
  kind: 'object',
  fields: {
    to: str('console'),
    level: { kind: 'string', default: 'info', oneOf: ['trace', 'debug', 'info', 'warn', 'error'] },
    maxDays: { kind: 'int', default: 3, min: 0 },
    disablePrintColor: bool(),
  },
} as const satisfies SchemaNode;

export const quicSchema = {
  kind: 'object',
  fields: {
    keepalivePeriod: seconds(10),
    maxIdleTimeout: seconds(30),
    maxIncomingStreams: count(100000),
  },
} as const satisfies SchemaNode;

export const tlsFiles = { certFile: str(), keyFile: str(), trustedCaFile: str() } as const satisfies Record<string, SchemaNode>;

/** frps dashboard / frpc admin API. */
export const webServerSchema = {
  kind: 'object',
  fields: {
    addr: str('127.0.0.1'),
    /** 0 = no dashboard / admin API */
    port: port(0, 0),
    user: str(),
    password: str(),
    assetsDir: str(),
    pprofEnable: bool(),
    /** present = serve HTTPS (only when configured) */
    tls: { kind: 'object', optional: true, fields: tlsFiles },
  },
} as const satisfies SchemaNode;
