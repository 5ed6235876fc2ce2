import { randomBytes } from 'node:crypto';
import { BurrowError } from '../util/errors.js';

/**
 * The command an SSH user runs through the gateway
 * (`ssh -R :80:127.0.0.1:8080 v0@server -p 2200 tcp --remote_port 9090`):
 * a proxy type, then frpc-like flags with frp's names and shorthands. As frp
 * (pflag): `--name value`, `--name=value`, `-n value`, `-nvalue`; `_` and `-`
 * are the same in long names; list flags take comma-separated values (quotes
 * as in CSV) and may repeat; the last of a repeated plain flag wins.
 */

/** The types frp's gateway runs (udp and the other secret types are not among them). */
export const TUNNEL_TYPES = ['tcp', 'http', 'https', 'tcpmux', 'stcp'] as const;
export type TunnelType = (typeof TUNNEL_TYPES)[number];

/** A command longer than this is refused before it is parsed. */
export const MAX_COMMAND_LENGTH = 4096;

type FlagKind = 'string' | 'int' | 'list' | 'map';

interface FlagSpec {
  /** frp's long name, as its help spells it (matched with `_` and `-` alike) */
  long: string;
  short?: string;
  kind: FlagKind;
  /** the key it sets: a proxy key, or `client.<key>` for the client's */
  key: string;
  help: string;
}

const f = (long: string, short: string | undefined, kind: FlagKind, key: string, help: string): FlagSpec => ({
  long,
  ...(short ? { short } : {}),
  kind,
  key,
  help,
});

const BASE = [
  f('proxy_name', 'n', 'string', 'name', 'proxy name (default sshtunnel-TYPE-random)'),
  f('metadatas', undefined, 'map', 'metadatas', 'metadata key-value pairs (key1=value1,key2=value2)'),
  f('annotations', undefined, 'map', 'annotations', 'annotation key-value pairs (key1=value1,key2=value2)'),
];
const DOMAINS = [f('custom_domain', 'd', 'list', 'customDomains', 'custom domains'), f('sd', undefined, 'string', 'subdomain', 'sub domain')];
const HTTP_AUTH = [f('http_user', undefined, 'string', 'httpUser', 'http auth user'), f('http_pwd', undefined, 'string', 'httpPassword', 'http auth password')];
const CLIENT = [
  f('user', 'u', 'string', 'client.user', 'user'),
  f('client-id', undefined, 'string', 'client.clientID', 'unique identifier for this client'),
  f('token', 't', 'string', 'client.token', 'auth token'),
];

/** Each type's flags, as frp registers them in SSH mode (no local address, encryption or bandwidth flags). */
const FLAGS: Readonly<Record<TunnelType, readonly FlagSpec[]>> = {
  tcp: [...BASE, f('remote_port', 'r', 'int', 'remotePort', 'remote port'), ...CLIENT],
  http: [
    ...BASE,
    ...DOMAINS,
    f('locations', undefined, 'list', 'locations', 'locations'),
    ...HTTP_AUTH,
    f('host_header_rewrite', undefined, 'string', 'hostHeaderRewrite', 'host header rewrite'),
    ...CLIENT,
  ],
  https: [...BASE, ...DOMAINS, ...CLIENT],
  tcpmux: [...BASE, ...DOMAINS, f('mux', undefined, 'string', 'multiplexer', 'multiplexer (httpconnect)'), ...HTTP_AUTH, ...CLIENT],
  stcp: [...BASE, f('sk', undefined, 'string', 'secretKey', 'secret key'), f('allow_users', undefined, 'list', 'allowUsers', 'allow visitor users'), ...CLIENT],
};

/** What one command asks for. */
export interface TunnelCommand {
  type: TunnelType;
  /** the proxy as an entry of a client file (frp's key names); `name` always set */
  proxy: Record<string, unknown> & { name: string };
  user: string;
  clientID: string;
  token: string;
}

export type ParsedCommand = { kind: 'run'; command: TunnelCommand } | { kind: 'help'; text: string };

function refuse(message: string): never {
  throw new BurrowError('BURROW_SSH_COMMAND', message);
}

/** Parses the exec command of an SSH session; throws BURROW_SSH_COMMAND with a message for the user. */
export function parseTunnelCommand(line: string): ParsedCommand {
  if (line.length > MAX_COMMAND_LENGTH) refuse(`the command is longer than ${MAX_COMMAND_LENGTH} characters`);
  const args = line
    .trim()
    .split(/\s+/)
    .filter((a) => a !== '');
  const first = args[0] ?? '';
  if (first === '' || first === '-h' || first === '--help' || first === 'help') return { kind: 'help', text: usage() };
  if (!(TUNNEL_TYPES as readonly string[]).includes(first)) {
    refuse(`invalid proxy type: ${first}, support types: [${TUNNEL_TYPES.join(' ')}]`);
  }
  const type = first as TunnelType;
  const specs = FLAGS[type];
  const values = new Map<FlagSpec, string[]>();
  for (let i = 1; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help', text: usage(type) };
    let spec: FlagSpec | undefined;
    let value: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      spec = specs.find((s) => normalized(s.long) === normalized(name));
      if (!spec) refuse(`unknown flag: --${name} (${type} takes: ${specs.map((s) => `--${s.long}`).join(' ')})`);
      if (eq >= 0) value = arg.slice(eq + 1);
    } else if (arg.startsWith('-') && arg.length > 1) {
      const short = arg[1] as string;
      spec = specs.find((s) => s.short === short);
      if (!spec) refuse(`unknown shorthand flag: '${short}' in ${arg}`);
      if (arg.length > 2) value = arg.slice(arg[2] === '=' ? 3 : 2);
    } else {
      refuse(`unexpected argument "${arg}": flags start with - or --`);
    }
    if (value === undefined) {
      value = args[i + 1];
      if (value === undefined) refuse(`flag needs an argument: --${spec.long}`);
      i++;
    }
    values.set(spec, [...(values.get(spec) ?? []), value]);
  }
  return { kind: 'run', command: commandOf(type, values) };
}

/** pflag's WordSepNormalizeFunc, as frp sets it: `_` and `-` are the same in long names. */
function normalized(name: string): string {
  return name.replaceAll('_', '-');
}

function commandOf(type: TunnelType, values: Map<FlagSpec, string[]>): TunnelCommand {
  const proxy: Record<string, unknown> = { type };
  const client: Record<string, string> = {};
  for (const [spec, given] of values) {
    const value = flagValue(spec, given);
    if (spec.key.startsWith('client.')) client[spec.key.slice('client.'.length)] = value as string;
    else proxy[spec.key] = value;
  }
  const name = typeof proxy.name === 'string' && proxy.name !== '' ? proxy.name : `sshtunnel-${type}-${randomBytes(4).toString('hex')}`;
  return { type, proxy: { ...proxy, name }, user: client.user ?? '', clientID: client.clientID ?? '', token: client.token ?? '' };
}

function flagValue(spec: FlagSpec, given: string[]): unknown {
  const flag = `--${spec.long}`;
  switch (spec.kind) {
    case 'string':
      return given[given.length - 1];
    case 'int': {
      const text = given[given.length - 1] as string;
      if (!/^[+-]?\d{1,10}$/.test(text)) refuse(`invalid argument "${text}" for ${flag}: not a whole number`);
      return Number(text);
    }
    case 'list':
      return given.flatMap((v) => csvFields(v, flag));
    case 'map': {
      const map: Record<string, string> = {};
      for (const field of given.flatMap((v) => csvFields(v, flag))) {
        const eq = field.indexOf('=');
        if (eq < 0) refuse(`invalid argument "${field}" for ${flag}: must be key=value`);
        map[field.slice(0, eq)] = field.slice(eq + 1);
      }
      return map;
    }
  }
}

/** One line of CSV, as pflag reads list values: `a,b`, `"a,b",c`, `"*"`. An empty value is an empty list. */
function csvFields(value: string, flag: string): string[] {
  if (value === '') return [];
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) refuse(`invalid argument for ${flag}: a quote is not closed in ${value}`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i];
        i++;
      }
      if (i < value.length && value[i] !== ',') refuse(`invalid argument for ${flag}: text after a closing quote in ${value}`);
    } else {
      const end = value.indexOf(',', i);
      field = value.slice(i, end < 0 ? value.length : end);
      if (field.includes('"')) refuse(`invalid argument for ${flag}: a quote inside an unquoted value in ${value}`);
      i = end < 0 ? value.length : end;
    }
    fields.push(field);
    if (i >= value.length) return fields;
    i++; // the comma
  }
}

/** The flag a proxy key was given with, for errors about the built config (`proxies[0].customDomains` → `--custom_domain`). */
export function flagOfKey(type: TunnelType, path: string): string {
  const key = path.replace(/^proxies\[0\]\./, '');
  const spec = FLAGS[type].find((s) => s.key === key);
  return spec ? `--${spec.long}` : key;
}

/** The help an SSH user sees for `-h`, for an empty command, or for `TYPE -h`. */
export function usage(type?: TunnelType): string {
  const lines = [
    'Usage: ssh -R :80:LOCAL_HOST:LOCAL_PORT v0@SERVER -p SSH_PORT TYPE [flags]',
    `TYPE is one of: ${TUNNEL_TYPES.join(', ')}; "TYPE -h" lists its flags.`,
  ];
  if (type) {
    lines.push('', `Flags of ${type}:`);
    for (const s of FLAGS[type]) {
      const names = `${s.short ? `-${s.short}, ` : '    '}--${s.long} ${s.kind === 'int' ? 'int' : s.kind === 'string' ? 'string' : 'strings'}`;
      lines.push(`  ${names.padEnd(36)} ${s.help}`);
    }
  }
  return lines.join('\n');
}
