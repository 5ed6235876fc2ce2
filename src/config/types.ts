import type { clientSchema } from './client-schema.js';
import type { AUTH_SCOPES } from './common-schema.js';
import type { CLIENT_PLUGIN_TYPES, PROXY_TYPES, VISITOR_TYPES, proxySchema } from './proxy-schema.js';
import type { ConfigOf, Flatten, PortRange } from './schema-engine.js';
import type { serverSchema } from './server-schema.js';

export type { PortRange };

/**
 * The validated, frozen configuration objects, derived from the schemas so a
 * key added, renamed or made optional there changes these types too. Key names
 * are frp's TOML names, whatever format the file was written in (INI keys are
 * mapped on load). Which keys are always present is the schema engine's rule
 * (`ConfigOf` in schema-engine.ts); what each key means is written on its
 * schema node.
 */

export type ProxyType = (typeof PROXY_TYPES)[number];
export type VisitorType = (typeof VISITOR_TYPES)[number];
export type ClientPluginType = (typeof CLIENT_PLUGIN_TYPES)[number];
export type AuthScope = (typeof AUTH_SCOPES)[number];

export type ServerConfig = ConfigOf<typeof serverSchema>;

/**
 * The client config as the schema engine returns it, before load fills
 * `remotePort`; cross-key checks read this one.
 */
export type ValidatedClientConfig = ConfigOf<typeof clientSchema>;
export type ValidatedProxyConfig = ConfigOf<typeof proxySchema>;

/**
 * A proxy after load. The schema's one exception, written here: `remotePort`
 * accepts a value only on tcp/udp (`variant.only`), yet load fills it with 0 on
 * the other types, so it is always present.
 */
export type ProxyConfig = Flatten<ValidatedProxyConfig & { remotePort: number }>;

export type ClientConfig = { [K in keyof ValidatedClientConfig]: K extends 'proxies' ? ProxyConfig[] : ValidatedClientConfig[K] };
export type VisitorConfig = ClientConfig['visitors'][number];

/** burrow-only bounds on the public side (bind port and vhosts); frp has no equivalents. */
export type ServerLimits = ServerConfig['limits'];
export type TlsServerSettings = ServerConfig['transport']['tls'];
export type TlsFiles = NonNullable<WebServerSettings['tls']>;
/** A value read from elsewhere; burrow resolves it into `auth.token` on load. */
export type ValueSource = NonNullable<ServerConfig['auth']['tokenSource']>;
export type LogSettings = ServerConfig['log'];
export type QuicSettings = ServerConfig['transport']['quic'];
export type WebServerSettings = ServerConfig['webServer'];
export type HttpPluginSettings = ServerConfig['httpPlugins'][number];
export type HeaderOperations = NonNullable<ProxyConfig['requestHeaders']>;
export type ProxyTransportSettings = ProxyConfig['transport'];
export type HealthCheckSettings = NonNullable<ProxyConfig['healthCheck']>;
/** Present fields follow `type`, as for proxies (e.g. `unixPath` only for unix_domain_socket). */
export type ClientPluginSettings = NonNullable<ProxyConfig['plugin']>;
export type UserAccountConfig = ServerConfig['users'][number];
