import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export const OIDC_CLIENT_ID = 'burrow-client';
export const OIDC_CLIENT_SECRET = 'burrow-secret';
export const OIDC_AUDIENCE = 'frps';
const KID = 'test-key';

export interface TestIssuer {
  /** the issuer URL, as discovery names it (no trailing slash) */
  issuer: string;
  tokenEndpoint: string;
  /** POSTs the token endpoint answered so far */
  readonly tokenRequests: number;
  /** a JWT signed with the issuer's own key, with these claims over the defaults (iss, aud, sub, exp in an hour) */
  sign(claims?: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real OIDC issuer (oidc-provider 8) on 127.0.0.1 port 0, with the
 * client-credentials grant and a resource server, so the access token it
 * issues is a JWT for audience "frps" whose subject is the client id.
 */
export async function startOidcIssuer(): Promise<TestIssuer> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const provider = new Provider(issuer, {
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-only-cookie-key'] },
    clients: [{ client_id: OIDC_CLIENT_ID, client_secret: OIDC_CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
    ttl: { ClientCredentials: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:burrow:frps',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'tunnel',
          audience: OIDC_AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  const handle = provider.callback();
  let tokenRequests = 0;
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) tokenRequests += 1;
    handle(req, res);
  });
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    get tokenRequests() {
      return tokenRequests;
    },
    sign: (claims = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: OIDC_AUDIENCE, sub: OIDC_CLIENT_ID, iat: now, exp: now + 3600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'at+jwt' })
        .sign(privateKey);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
