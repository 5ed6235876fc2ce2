import { formatProblem } from '../../config/schema-engine.js';
import { checkSsoProvider } from '../../config/sso-checks.js';
import type { BurrowSso } from '../../protocol/burrow-features.js';
import { BurrowError } from '../../util/errors.js';
import { makeSsoPolicy, type SsoPolicy } from '../../vhost/sso-policy.js';

const DEFAULT_SESSION_SECONDS = 12 * 3600;
const MAX_SESSION_SECONDS = 30 * 86_400;

/**
 * The OIDC login a NewProxy asks for (`burrow_sso`), checked by the same rules
 * as the client's config file: the client may be another program, and what it
 * sends decides who reaches the service. A bad value refuses the proxy.
 */
export function proxySsoPolicy(name: string, wire: BurrowSso | undefined): SsoPolicy | undefined {
  if (wire === undefined) return undefined;
  const provider = {
    issuer: wire.issuer ?? '',
    clientID: wire.client_id ?? '',
    clientSecret: wire.client_secret ?? '',
    allowedEmails: wire.allowed_emails ?? [],
    allowedDomains: wire.allowed_domains ?? [],
    sessionSeconds: wire.session_seconds ?? DEFAULT_SESSION_SECONDS,
    emailHeader: wire.email_header ?? 'X-Forwarded-Email',
  };
  const problems: string[] = [];
  const sink = (path: string, message: string): void => void problems.push(formatProblem(path, message));
  checkSsoProvider(provider, 'sso', sink);
  const s = provider.sessionSeconds;
  if (!Number.isInteger(s) || s < 60 || s > MAX_SESSION_SECONDS) sink('sso.sessionSeconds', `must be between 60 and ${MAX_SESSION_SECONDS}`);
  if (problems.length > 0) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": ${problems.join('; ')}`);
  return makeSsoPolicy({
    issuer: provider.issuer,
    clientId: provider.clientID,
    clientSecret: provider.clientSecret,
    allowedEmails: provider.allowedEmails,
    allowedDomains: provider.allowedDomains,
    sessionSeconds: s,
    emailHeader: provider.emailHeader,
    source: `proxy "${name}"`,
  });
}
