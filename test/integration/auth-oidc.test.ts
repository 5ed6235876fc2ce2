import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectMessage, writeMessage } from '../../src/control/message-io.js';
import { BurrowClient } from '../../src/client/client.js';
import { buildClientConfig } from '../../src/config/load.js';
import type { ClientConfig } from '../../src/config/types.js';
import type { RawClientConfig, RawServerConfig } from '../helpers/config.js';
import { OIDC_AUDIENCE, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, startOidcIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { rawLogin } from '../helpers/raw-client.js';
import { echoThrough, freePort, patternBytes, portOf, tcpProxy, testLogger, TOKEN, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

/** A client config that may run a token program, as `--allow-unsafe=TokenSourceExec` allows. */
function clientConfig(serverPort: number, raw: RawClientConfig): ClientConfig {
  return buildClientConfig({ serverAddr: '127.0.0.1', serverPort, loginFailExit: true, ...raw }, 'client config', { allowUnsafe: ['TokenSourceExec'] });
}

async function issuerFor(t: TestContext): Promise<TestIssuer> {
  const issuer = await startOidcIssuer();
  whenDone(t, () => issuer.close());
  return issuer;
}

/** The server side: OIDC against `issuer`; the token stays only as the control cipher's key (frp derives it from auth.token whatever the method). */
function oidcServer(
  issuer: string,
  oidc: NonNullable<RawServerConfig['auth']>['oidc'] = {},
  extra: NonNullable<RawServerConfig['auth']> = {},
): RawServerConfig {
  return { auth: { method: 'oidc', token: TOKEN, oidc: { issuer, audience: OIDC_AUDIENCE, ...oidc }, ...extra } };
}

/** The client side: the client-credentials flow against the test issuer, or a fixed token from a file. */
function oidcClient(issuer: TestIssuer, auth: NonNullable<RawClientConfig['auth']> = {}): RawClientConfig {
  return {
    auth: {
      method: 'oidc',
      token: TOKEN,
      oidc: { clientID: OIDC_CLIENT_ID, clientSecret: OIDC_CLIENT_SECRET, tokenEndpointURL: issuer.tokenEndpoint },
      ...auth,
    },
  };
}

function tokenFile(token: string): RawClientConfig['auth'] {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-oidc-'));
  const path = join(dir, 'token');
  writeFileSync(path, `${token}\n`);
  return { method: 'oidc', token: TOKEN, oidc: { tokenSource: { type: 'file', file: { path } } } };
}

describe('auth.method = "oidc" against a real OIDC issuer', () => {
  test('the client-credentials token logs in, a tcp proxy echoes, and the token is fetched once', async (t) => {
    const issuer = await issuerFor(t);
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const server = await startServer(oidcServer(issuer.issuer));
    const client = makeClient(server.port, { extra: oidcClient(issuer), proxies: [tcpProxy('echo', echo.port)] });
    await client.start();
    const status = await client.waitForProxy('echo');
    const data = patternBytes(64 * 1024);
    assert.deepEqual(await echoThrough(portOf(status.remoteAddr), data), data);
    assert.equal(server.clients[0]?.authSubject, OIDC_CLIENT_ID);
    assert.equal(issuer.tokenRequests, 1);
  });

  test('a token for another audience is refused with the audiences named', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer, { audience: 'another-server' }));
    const client = makeClient(server.port, { extra: oidcClient(issuer) });
    await assert.rejects(client.start(), /invalid OIDC token in login: expected audience "another-server" got \["frps"\]/);
    assert.equal(server.clients.length, 0);
  });

  test('without auth.oidc.audience the audience is not checked, as frp', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer, { audience: '' }));
    await makeClient(server.port, { extra: oidcClient(issuer) }).start();
    assert.equal(server.clients.length, 1);
  });

  test('an expired token is refused, and accepted with skipExpiryCheck', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const now = Math.floor(Date.now() / 1000);
    const expired = tokenFile(await issuer.sign({ iat: now - 7200, exp: now - 3600 }));
    const strict = await startServer(oidcServer(issuer.issuer));
    await assert.rejects(makeClient(strict.port, { extra: { auth: expired } }).start(), /invalid OIDC token in login: token is expired \(Token Expiry: /);
    const lenient = await startServer(oidcServer(issuer.issuer, { skipExpiryCheck: true }));
    await makeClient(lenient.port, { extra: { auth: expired } }).start();
    assert.equal(lenient.clients.length, 1);
  });

  test('a token naming another issuer is refused, and accepted with skipIssuerCheck (the signature still counts)', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const foreign = tokenFile(await issuer.sign({ iss: 'https://elsewhere.example' }));
    const strict = await startServer(oidcServer(issuer.issuer));
    await assert.rejects(
      makeClient(strict.port, { extra: { auth: foreign } }).start(),
      /invalid OIDC token in login: issued by a different provider, expected "http:\/\/127\.0\.0\.1:\d+" got "https:\/\/elsewhere\.example"/,
    );
    const lenient = await startServer(oidcServer(issuer.issuer, { skipIssuerCheck: true }));
    await makeClient(lenient.port, { extra: { auth: foreign } }).start();
    assert.equal(lenient.clients.length, 1);
    // A token signed by a key the issuer does not publish is refused even so.
    const other = await startOidcIssuer();
    whenDone(t, () => other.close());
    const forged = tokenFile(await other.sign({ iss: issuer.issuer }));
    await assert.rejects(makeClient(lenient.port, { extra: { auth: forged } }).start(), /invalid OIDC token in login: failed to verify signature/);
  });

  test('a wrong client secret fails at the token endpoint, before the server is dialled', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer));
    const client = makeClient(server.port, {
      extra: oidcClient(issuer, { oidc: { clientID: OIDC_CLIENT_ID, clientSecret: 'wrong', tokenEndpointURL: issuer.tokenEndpoint } }),
    });
    await assert.rejects(client.start(), /couldn't generate OIDC token for login: the token endpoint answered 401: invalid_client/);
    assert.equal(server.clients.length, 0);
  });

  test('an unreachable issuer refuses logins with a readable reason, and the server keeps serving', async (t) => {
    const { startServer, makeClient } = tunnelKit(t);
    const issuer = await issuerFor(t);
    const closedPort = await freePort();
    const server = await startServer(oidcServer(`http://127.0.0.1:${closedPort}`));
    const token = tokenFile(await issuer.sign());
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        makeClient(server.port, { extra: { auth: token } }).start(),
        /invalid OIDC token in login: cannot check it: GET http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration: .*(ECONNREFUSED|refused)/,
      );
    }
    assert.equal(server.accepting, true);
  });

  test('an issuer whose discovery names another issuer is refused, as go-oidc does', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer, makeClient } = tunnelKit(t);
    const server = await startServer(oidcServer(`${issuer.issuer}/`));
    await assert.rejects(makeClient(server.port, { extra: oidcClient(issuer) }).start(), /calls itself "http:\/\/127\.0\.0\.1:\d+" in its discovery document/);
  });
});

describe('auth.oidc.tokenSource exec (with --allow-unsafe=TokenSourceExec)', () => {
  test('the program is run for the Login and for each scoped heartbeat, without blocking, and what it prints logs in', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer, {}, { additionalScopes: ['HeartBeats'] }));
    const dir = mkdtempSync(join(tmpdir(), 'burrow-oidc-exec-'));
    const script = join(dir, 'print-token.sh');
    const runs = join(dir, 'runs');
    writeFileSync(script, `#!/bin/sh\necho run >> ${JSON.stringify(runs)}\nprintf '%s\\n' "$1"\n`);
    chmodSync(script, 0o700);
    const exec = { command: script, args: [await issuer.sign()] };
    const config = clientConfig(server.port, {
      auth: { method: 'oidc', token: TOKEN, additionalScopes: ['HeartBeats'], oidc: { tokenSource: { type: 'exec', exec } } },
      transport: { heartbeatInterval: 1, tls: { enable: true } },
    });
    const client = new BurrowClient(config, testLogger('client'));
    whenDone(t, () => client.stop());
    await client.start();
    assert.equal(server.clients[0]?.authSubject, OIDC_CLIENT_ID);
    await waitFor(() => existsSync(runs) && readFileSync(runs, 'utf8').split('\n').length > 3, 'two heartbeats after the login');
    assert.equal(server.clients.length, 1, 'the heartbeats were accepted');

    const failing = clientConfig(server.port, {
      auth: { method: 'oidc', token: TOKEN, oidc: { tokenSource: { type: 'exec', exec: { command: script.replace('print-token', 'missing') } } } },
    });
    const broken = new BurrowClient(failing, testLogger('client'));
    whenDone(t, () => broken.stop());
    await assert.rejects(broken.start(), /couldn't generate OIDC token for login: .*missing\.sh/);
  });
});

describe('auth.oidc with additionalScopes', () => {
  test('a client with HeartBeats and NewWorkConns sends its token on both and its proxy works', async (t) => {
    const issuer = await issuerFor(t);
    const { startEcho, startServer, makeClient } = tunnelKit(t);
    const echo = await startEcho();
    const scopes = ['HeartBeats', 'NewWorkConns'] as const;
    const server = await startServer(oidcServer(issuer.issuer, {}, { additionalScopes: [...scopes] }));
    const client = makeClient(server.port, {
      extra: { ...oidcClient(issuer, { additionalScopes: [...scopes] }), transport: { heartbeatInterval: 1, poolCount: 2 } },
      proxies: [tcpProxy('echo', echo.port)],
    });
    await client.start();
    const status = await client.waitForProxy('echo');
    for (let i = 0; i < 3; i++) assert.deepEqual(await echoThrough(portOf(status.remoteAddr), Buffer.from(`hello ${i}`)), Buffer.from(`hello ${i}`));
    assert.equal(issuer.tokenRequests, 1, 'the token is cached for heartbeats and work connections');
  });

  test('a Ping must carry a valid token of the same subject as the Login', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer, {}, { additionalScopes: ['HeartBeats'] }));
    const c = await rawLogin(server.port, { privilegeKey: await issuer.sign() });
    whenDone(t, () => c.close());
    const pong = async (privilege_key: string): Promise<string> => {
      c.send({ type: 'Ping', body: { privilege_key } });
      const m = await c.next();
      assert.equal(m.type, 'Pong');
      return (m.body as { error?: string }).error ?? '';
    };
    assert.equal(await pong(await issuer.sign()), '');
    assert.match(await pong(await issuer.sign({ sub: 'someone-else' })), /received different OIDC subject in login and heartbeat\. new subject: someone-else/);
    assert.match(await pong('not-a-jwt'), /invalid OIDC token in heartbeat: failed to verify signature/);
    assert.match(await pong(''), /invalid OIDC token in heartbeat: the token is empty/);
  });

  test('a NewWorkConn must carry a valid token of the same subject as the Login', async (t) => {
    const issuer = await issuerFor(t);
    const { startServer } = tunnelKit(t);
    const server = await startServer(oidcServer(issuer.issuer, {}, { additionalScopes: ['NewWorkConns'] }));
    const c = await rawLogin(server.port, { privilegeKey: await issuer.sign() });
    whenDone(t, () => c.close());
    const startWorkConn = async (privilege_key?: string): Promise<string> => {
      const work = await c.dialer.open();
      await writeMessage(work, { type: 'NewWorkConn', body: { run_id: c.runId, ...(privilege_key === undefined ? {} : { privilege_key }) } });
      const answer = await expectMessage(work, 'StartWorkConn', 5000);
      work.destroy();
      return answer.error ?? '';
    };
    assert.match(await startWorkConn(), /invalid OIDC token in NewWorkConn: the token is empty/);
    assert.match(await startWorkConn(await issuer.sign({ sub: 'someone-else' })), /received different OIDC subject in login and NewWorkConn/);
    const control = server.clients[0];
    assert.equal(control?.pool.idleCount ?? 0, 0);
    const work = await c.dialer.open();
    await writeMessage(work, { type: 'NewWorkConn', body: { run_id: c.runId, privilege_key: await issuer.sign() } });
    await waitFor(() => control?.pool.idleCount === 1, 'the work connection in the pool');
    work.destroy();
  });
});

describe('the client-credentials flow, against a bare token endpoint', () => {
  /** A token endpoint that answers every POST with a fresh token, with or without expires_in. */
  async function tokenEndpoint(t: TestContext, expiresIn: number | undefined): Promise<{ url: string; readonly requests: number; bodies: string[] }> {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.headers.authorization ?? ''} ${Buffer.concat(chunks).toString('utf8')}`);
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ access_token: `token-${bodies.length}`, token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) }),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    whenDone(t, () => new Promise((r) => server.close(r)));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
      get requests() {
        return bodies.length;
      },
      bodies,
    };
  }

  test('a token with expires_in is reused; without it, every use asks again (as frp)', async (t) => {
    const { OidcClientCredentials } = await import('../../src/client/auth/oidc-client-credentials.js');
    const cfg = {
      clientID: 'id with space',
      clientSecret: 's3cret',
      audience: 'frps',
      scope: 'tunnel',
      additionalEndpointParams: { resource: 'urn:x' },
      trustedCaFile: '',
      insecureSkipVerify: false,
      proxyURL: '',
    };
    const caching = await tokenEndpoint(t, 3600);
    const cached = new OidcClientCredentials({ ...cfg, tokenEndpointURL: caching.url });
    assert.deepEqual(await Promise.all([cached.token(), cached.token()]), ['token-1', 'token-1']);
    assert.equal(await cached.token(), 'token-1');
    assert.equal(caching.requests, 1);
    const body = caching.bodies[0] ?? '';
    // As Go's oauth2: id and secret form-encoded (a space is "+"), then base64.
    assert.ok(body.startsWith(`Basic ${Buffer.from('id+with+space:s3cret').toString('base64')} `), body);
    for (const field of ['grant_type=client_credentials', 'scope=tunnel', 'audience=frps', 'resource=urn%3Ax'])
      assert.ok(body.includes(field), `${field} in ${body}`);

    const fresh = await tokenEndpoint(t, undefined);
    const uncached = new OidcClientCredentials({ ...cfg, tokenEndpointURL: fresh.url });
    assert.equal(await uncached.token(), 'token-1');
    assert.equal(await uncached.token(), 'token-2');
    assert.equal(fresh.requests, 2);
  });
});
