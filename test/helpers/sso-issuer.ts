import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const SSO_CLIENT_ID = 'burrow-sso';
export const SSO_CLIENT_SECRET = 'burrow-sso-secret';

export interface SsoIssuer {
  /** the issuer URL, as discovery names it */
  issuer: string;
  /** the account the next login interaction signs in (its email); set by the test before each login */
  loginAs: string;
  /** whether the issuer says the email is verified */
  emailVerified: boolean;
  /** requests to the token endpoint so far */
  readonly tokenRequests: number;
  close(): Promise<void>;
}

/**
 * A real OIDC issuer (oidc-provider 8) on 127.0.0.1 port 0 for browser logins:
 * one confidential client (authorization code, client_secret_basic) whose
 * redirect URIs the test names. Its login interaction is a test route that
 * signs in `loginAs` at once (no form), and every client is granted `openid
 * email` without a consent screen. As oidc-provider does by default, the email
 * is given at the userinfo endpoint, not in the ID token.
 */
export async function startSsoIssuer(redirectUris: string[]): Promise<SsoIssuer> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'sso-key', alg: 'RS256', use: 'sig' };
  const state = { loginAs: 'nobody@example.com', emailVerified: true, tokenRequests: 0 };
  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-only-cookie-key'] },
    clients: [
      {
        client_id: SSO_CLIENT_ID,
        client_secret: SSO_CLIENT_SECRET,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: redirectUris,
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: false } },
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, email: id, email_verified: state.emailVerified }),
    }),
    loadExistingGrant: async (ctx: GrantContext) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) state.tokenRequests += 1;
    if (req.url?.startsWith('/interaction/')) {
      provider.interactionFinished(req, res, { login: { accountId: state.loginAs } }, { mergeWithLastSubmission: false }).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    handle(req, res);
  });
  return {
    issuer,
    get loginAs() {
      return state.loginAs;
    },
    set loginAs(v: string) {
      state.loginAs = v;
    },
    get emailVerified() {
      return state.emailVerified;
    },
    set emailVerified(v: boolean) {
      state.emailVerified = v;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface GrantContext {
  oidc: {
    provider: Provider;
    client: { clientId: string };
    session: { accountId: string };
  };
}
