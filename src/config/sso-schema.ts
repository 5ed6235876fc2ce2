import type { SchemaNode } from './schema-engine.js';

/**
 * burrow's own: an OIDC login in front of http proxies (docs/sso.md). The
 * provider keys are the same on a proxy (`[proxies.sso]`, carried to a burrow
 * server in NewProxy) and in the server's `[[sso]]` tables (which also name
 * the domains they cover, so stock frpc's proxies can be protected too).
 */
const providerFields = {
  /** the OIDC issuer URL; its `/.well-known/openid-configuration` must name it exactly */
  issuer: { kind: 'string', default: '' },
  clientID: { kind: 'string', default: '' },
  /** sent to the token endpoint with the authorization code (client_secret_basic, else client_secret_post) */
  clientSecret: { kind: 'string', default: '' },
  /** exact addresses that may pass (compared without case) */
  allowedEmails: { kind: 'stringList', default: [] },
  /** email domains whose addresses may pass (`example.com`, no `@`) */
  allowedDomains: { kind: 'stringList', default: [] },
  /** how long a login lasts before the browser goes through the issuer again */
  sessionSeconds: { kind: 'int', default: 12 * 3600, min: 60, max: 30 * 86_400 },
  /** the request header that carries the signed-in email to the service (any such header from the browser is removed) */
  emailHeader: { kind: 'string', default: 'X-Forwarded-Email' },
} as const satisfies Record<string, SchemaNode>;

/** On an http proxy; `optional`, so a proxy without it has no `sso` at all. */
export const proxySsoSchema = {
  kind: 'object',
  optional: true,
  required: ['issuer', 'clientID', 'clientSecret'],
  fields: providerFields,
} as const satisfies SchemaNode;

/** One `[[sso]]` table of the server. */
export const serverSsoSchema = {
  kind: 'object',
  required: ['domains', 'issuer', 'clientID', 'clientSecret'],
  fields: {
    /** the http vhost names it covers: exact names or globs, `*` standing for one or more labels */
    domains: { kind: 'stringList', default: [] },
    ...providerFields,
  },
} as const satisfies SchemaNode;
