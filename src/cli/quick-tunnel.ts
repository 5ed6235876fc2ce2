import { randomBytes } from 'node:crypto';
import type { BurrowClient, ProxyStatus } from '../client/client.js';
import type { BurrowServerInfo } from '../protocol/messages.js';

/**
 * The tunnel of a one-line command (`burrow http|tcp|udp <port>`): its proxy,
 * the random name `burrow http` picks when given none, a new name when the
 * server says the name is taken, and the public URL to print.
 */

export type QuickKind = 'http' | 'tcp' | 'udp';

export interface QuickTunnelSpec {
  kind: QuickKind;
  localIP: string;
  localPort: number;
  /** http: a fixed subdomain; with neither this nor domains, a random one */
  subdomain?: string;
  /** http: custom domains */
  domains?: string[];
  /** tcp/udp: the public port to ask for (0: the server picks) */
  remotePort?: number;
  inspect?: boolean;
}

/** base32's lowercase alphabet: 32 symbols, so 5 random bits each and no bias. */
const LABEL_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 12 symbols: 60 bits, unguessable by scanning a server's names. */
const LABEL_LENGTH = 12;

/** A random DNS label (lowercase letters and digits, starting with a letter so it never looks like a number). */
export function randomLabel(): string {
  const bytes = randomBytes(LABEL_LENGTH);
  let out = LABEL_ALPHABET[bytes[0]! % 26]!;
  for (let i = 1; i < LABEL_LENGTH; i++) out += LABEL_ALPHABET[bytes[i]! & 31]!;
  return out;
}

/** Whether the tunnel picks its own subdomain. */
export function picksName(spec: QuickTunnelSpec): boolean {
  return spec.kind === 'http' && spec.subdomain === undefined && (spec.domains ?? []).length === 0;
}

/** The proxy name: `http-<port>` as before for a fixed name; with a random subdomain the label too, so two runs for one port do not clash. */
export function proxyName(spec: QuickTunnelSpec, label: string | undefined): string {
  return label !== undefined ? `${spec.kind}-${label}` : `${spec.kind}-${spec.localPort}`;
}

/** The proxy table (frp's keys) for the spec, with `label` as the subdomain when the tunnel picks its name. */
export function quickProxy(spec: QuickTunnelSpec, label: string | undefined): Record<string, unknown> {
  const base = { name: proxyName(spec, label), type: spec.kind, localIP: spec.localIP, localPort: spec.localPort };
  if (spec.kind !== 'http') return { ...base, remotePort: spec.remotePort ?? 0 };
  return {
    ...base,
    inspect: spec.inspect ?? true,
    ...(label !== undefined ? { subdomain: label } : spec.subdomain !== undefined ? { subdomain: spec.subdomain } : {}),
    ...(spec.domains && spec.domains.length > 0 ? { customDomains: spec.domains } : {}),
  };
}

/**
 * A refusal that another name may avoid: frps says "proxy [x] already exists"
 * or "router config conflict", burrow "… already exists" or "… is already
 * used by …".
 */
export function isNameClash(err: string): boolean {
  return /already exists|already used|config conflict/i.test(err);
}

/**
 * The URL from NewProxyResp's remote_addr, which frps and burrow both fill:
 * `name.subDomainHost[:vhostHTTPPort]` for http (the port left out when it
 * is 80), `:port` for tcp and udp (the server's address is ours to add).
 */
export function publicUrl(kind: QuickKind, remoteAddr: string, serverHost: string): string {
  const first = remoteAddr.split(',')[0] ?? '';
  if (kind === 'http') return first === '' ? '' : `http://${first}`;
  const host = serverHost.includes(':') ? `[${serverHost}]` : serverHost;
  return first.startsWith(':') ? `${kind}://${host}${first}` : `${kind}://${first}`;
}

/** Why a burrow server cannot give `burrow http` a name, from what it said at login; undefined when it can (or the server is frps and did not say). */
export function cannotName(info: BurrowServerInfo | undefined): string | undefined {
  if (!info) return undefined;
  if (!info.vhost_http_port) return 'the server serves no HTTP vhost (vhostHTTPPort is not set there)';
  if (!info.subdomain_host) return 'the server gives out no subdomains (subDomainHost is not set there): use --domain <host> pointed at it';
  return undefined;
}

/** A bound on the names tried: a clash after clash means something else is wrong. */
export const MAX_NAME_ATTEMPTS = 5;

export interface NameClashWatch {
  /** the proxy name in use now */
  current(): string;
  stop(): void;
}

/**
 * Gives the proxy a fresh random name each time the server refuses one as
 * taken, at most MAX_NAME_ATTEMPTS names in all; `apply(label)` runs the
 * client with that label (a reload, so the connection stays). `gaveUp` hears
 * the last refusal.
 */
export function watchNameClashes(
  client: BurrowClient,
  spec: QuickTunnelSpec,
  firstLabel: string,
  apply: (label: string) => void,
  gaveUp: (reason: string) => void,
  newLabel: () => string = randomLabel,
): NameClashWatch {
  let name = proxyName(spec, firstLabel);
  let tried = 1;
  const onProxy = (s: ProxyStatus): void => {
    if (s.name !== name || s.phase !== 'start error' || !isNameClash(s.err)) return;
    if (tried >= MAX_NAME_ATTEMPTS) {
      client.off('proxy', onProxy);
      gaveUp(`${tried} names refused as taken, the last with: ${s.err}`);
      return;
    }
    tried += 1;
    const label = newLabel();
    // The name changes now, so listeners after this one ignore the refused proxy; the reload waits for this event to finish.
    name = proxyName(spec, label);
    setImmediate(() => apply(label));
  };
  client.on('proxy', onProxy);
  return { current: () => name, stop: () => client.off('proxy', onProxy) };
}
