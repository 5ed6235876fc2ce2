import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { generateSelfSignedCertificate } from '../../src/transport/self-signed-cert.js';
import { MAX_CONNECTIONS_PER_ADDRESS } from '../../src/sshgw/gateway.js';
import { createClientAuth } from '../../src/client/auth/client-auth.js';
import { ClientSession } from '../../src/client/client-session.js';
import { ServerConnection } from '../../src/client/server-connection.js';
import { clientConfig, visitor } from '../helpers/config.js';
import { vhostRequest } from '../helpers/http.js';
import { keyDir, runSsh, serverSshPort, startGateway } from '../helpers/ssh-gateway.js';
import { TOKEN, captureLog, echoThrough, freePort, portOf, testLogger, tunnelKit, waitFor, whenDone } from '../helpers/tunnel.js';

test('tcp through `ssh -R`: the echo service behind the ssh client answers on the remote port; closing ssh removes the proxy', async (t) => {
  const { key, dir } = keyDir(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const { server, gateway } = await startGateway(t, { autoGenPrivateKeyPath: join(dir, 'host_key') });
  const ssh = runSsh(t, serverSshPort(server), key, echo.port, ['tcp', '--proxy_name', 'ssh-tcp', '--remote_port', '0', '--token', TOKEN]);
  const [, remoteAddr = ''] = await ssh.waitForOutput(/RemoteAddress: (\S+)/);
  assert.match(ssh.stdout, /ProxyName: ssh-tcp\n/);
  assert.match(ssh.stdout, /Type: tcp\n/);
  const port = portOf(remoteAddr);
  const data = Buffer.from('hello through ssh '.repeat(2000));
  assert.deepEqual(await echoThrough(port, data), data);
  assert.deepEqual(await echoThrough(port, Buffer.from('again')), Buffer.from('again'));

  const closed = once(server, 'proxyClosed');
  ssh.child.kill();
  await closed;
  assert.equal(server.findProxy('ssh-tcp'), undefined);
  // Nothing of the tunnel is left: its client logged out, its SSH connection is gone.
  await waitFor(() => server.clients.length === 0 && gateway.connectionCount === 0, 'the tunnel gone');
  const probe = connect({ host: '127.0.0.1', port });
  const [err] = (await once(probe, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
});

test('http through `ssh -R`: a custom domain routed by the vhost reaches the service behind the ssh client', async (t) => {
  const { key } = keyDir(t);
  const web = createServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nfrom ssh -R'.concat('!')));
  });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  whenDone(t, () => new Promise((r) => web.close(r)));
  const vhostHTTPPort = await freePort();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '' }, { vhostHTTPPort });
  const webPort = (web.address() as AddressInfo).port;
  const ssh = runSsh(t, serverSshPort(server), key, webPort, ['http', '--custom-domain', 'test.example.com', '-t', TOKEN]);
  const [, remoteAddr] = await ssh.waitForOutput(/RemoteAddress: (\S+)/);
  assert.equal(remoteAddr, `test.example.com:${vhostHTTPPort}`);
  assert.match(ssh.stdout, /ProxyName: sshtunnel-http-[0-9a-f]{8}\n/);
  const answer = await vhostRequest(vhostHTTPPort, 'test.example.com', '/');
  assert.equal(answer.status, 200);
  assert.equal(answer.body.toString(), 'from ssh -R!');
});

test('https through `ssh -R`: routed by the TLS server name to the TLS service behind the ssh client, not terminated', async (t) => {
  const { key } = keyDir(t);
  const cert = generateSelfSignedCertificate({ commonName: 'secure.example.com' });
  const backend = tls.createServer({ cert: cert.cert, key: cert.key }, (socket) => {
    socket.on('error', () => {});
    socket.end(`served for ${socket.servername ?? ''}`);
  });
  backend.listen(0, '127.0.0.1');
  await once(backend, 'listening');
  whenDone(t, () => new Promise((r) => backend.close(r)));
  const vhostHTTPSPort = await freePort();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '' }, { vhostHTTPSPort });
  const ssh = runSsh(t, serverSshPort(server), key, (backend.address() as AddressInfo).port, ['https', '--custom_domain', 'secure.example.com', '-t', TOKEN]);
  await ssh.waitForOutput(/RemoteAddress:/);
  const socket = tls.connect({ host: '127.0.0.1', port: vhostHTTPSPort, servername: 'secure.example.com', rejectUnauthorized: false });
  whenDone(t, () => socket.destroy());
  let text = '';
  socket.on('data', (c: Buffer) => {
    text += c.toString();
  });
  await once(socket, 'end');
  assert.equal(text, 'served for secure.example.com');
  assert.equal(socket.getPeerCertificate().subject.CN, 'secure.example.com');
});

test('a server without tcpMux (heartbeatTimeout 2 s here) keeps an SSH tunnel: its client pings in time and its work connections are admitted', async (t) => {
  const { key } = keyDir(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const log = captureLog();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '' }, { transport: { tcpMux: false, heartbeatTimeout: 2 } }, log.logger);
  const ssh = runSsh(t, serverSshPort(server), key, echo.port, ['tcp', '-n', 'pinged', '-r', '0', '-t', TOKEN]);
  const [, remoteAddr = ''] = await ssh.waitForOutput(/RemoteAddress: (\S+)/);
  // Three pings a second apart: past the server's 2 s without one.
  await waitFor(() => log.lines.filter((l) => l.includes('send heartbeat to server')).length >= 4, 'four heartbeats');
  assert.equal(server.clients.length, 1);
  assert.notEqual(server.findProxy('pinged'), undefined);
  assert.deepEqual(await echoThrough(portOf(remoteAddr), Buffer.from('still here')), Buffer.from('still here'));
});

test('stcp and tcpmux through `ssh -R`: a burrow visitor and an HTTP CONNECT reach the echo service behind the ssh client', async (t) => {
  const { key } = keyDir(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const tcpmuxHTTPConnectPort = await freePort();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '' }, { tcpmuxHTTPConnectPort });
  const sshPort = serverSshPort(server);
  const secret = runSsh(t, sshPort, key, echo.port, ['stcp', '-n', 'ssh-secret', '--sk', 'abcdefg', '--allow_users', '*', '-t', TOKEN]);
  const mux = runSsh(t, sshPort, key, echo.port, ['tcpmux', '--mux=httpconnect', '-d', 'mux.example.com', '-t', TOKEN]);
  await Promise.all([secret.waitForOutput(/RemoteAddress:/), mux.waitForOutput(/RemoteAddress:/)]);

  const visitorPort = await freePort();
  const client = kit.makeClient(server.port, { extra: { visitors: [visitor('stcp', 'v', 'ssh-secret', 'abcdefg', visitorPort)] } });
  await client.start();
  assert.deepEqual(await echoThrough(visitorPort, Buffer.from('to the secret proxy')), Buffer.from('to the secret proxy'));

  const socket = connect({ host: '127.0.0.1', port: tcpmuxHTTPConnectPort });
  socket.on('error', () => {});
  whenDone(t, () => socket.destroy());
  let text = '';
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
  });
  socket.write('CONNECT mux.example.com:443 HTTP/1.1\r\nHost: mux.example.com:443\r\n\r\n');
  await waitFor(() => text.includes('\r\n\r\n'), 'the CONNECT answer');
  assert.match(text, /^HTTP\/1\.1 200/);
  text = '';
  socket.write('bytes after CONNECT');
  await waitFor(() => text.length >= 'bytes after CONNECT'.length, 'the echo');
  assert.equal(text, 'bytes after CONNECT');
});

test('authorizedKeysFile: a listed key logs in without a token and its comment names the user; another key is refused', async (t) => {
  const { key, pub, dir } = keyDir(t);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, `# the gateway's users\n${pub}`);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '', authorizedKeysFile: authorized });
  const ssh = runSsh(t, serverSshPort(server), key, echo.port, ['tcp', '-n', 'keyed', '-r', '0']);
  const [, remoteAddr = ''] = await ssh.waitForOutput(/RemoteAddress: (\S+)/);
  assert.match(ssh.stdout, /User: alice\n/);
  assert.notEqual(server.findProxy('alice.keyed'), undefined);
  assert.deepEqual(await echoThrough(portOf(remoteAddr), Buffer.from('keyed')), Buffer.from('keyed'));

  const other = join(dir, 'id_mallory');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mallory', '-f', other]);
  const refused = runSsh(t, serverSshPort(server), other, echo.port, ['tcp', '-r', '0']);
  assert.equal(await refused.exited, 255);
  assert.match(refused.stderr, /Permission denied \(publickey\)/);
  assert.equal(refused.stdout, '');
});

test('authorizedKeysFile on an OIDC server: a listed key is let in without the issuer (frp AlwaysAuthPass), a token-only login is refused', async (t) => {
  const { key, pub, dir } = keyDir(t);
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, pub);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  // The issuer is never reachable: only a login that asks it can fail.
  const oidc = { auth: { method: 'oidc', oidc: { issuer: 'http://127.0.0.1:9/' } } } as Parameters<typeof kit.startServer>[0];
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '', authorizedKeysFile: authorized }, oidc);
  const ssh = runSsh(t, serverSshPort(server), key, echo.port, ['tcp', '-n', 'oidc', '-r', '0']);
  const [, remoteAddr = ''] = await ssh.waitForOutput(/RemoteAddress: (\S+)/);
  assert.deepEqual(await echoThrough(portOf(remoteAddr), Buffer.from('oidc')), Buffer.from('oidc'));

  // The bypass is the gateway's alone: a network client asking for it is still checked by the issuer.
  const cfg = clientConfig(server.port, { auth: { method: 'token', token: 'x' } });
  const auth = createClientAuth(cfg);
  const claimsBypass = { login: () => auth.login(), ping: () => auth.ping(), newWorkConn: () => auth.newWorkConn(), alwaysAuthPass: true };
  const refused = new ClientSession(cfg, claimsBypass, new ServerConnection(cfg), testLogger('refused'));
  await assert.rejects(refused.start(''), /OIDC/);
  refused.close('test over');
});

test('a bad command line, a wrong token and a missing flag each get one readable line on the ssh channel and exit 1', async (t) => {
  const { key } = keyDir(t);
  const kit = tunnelKit(t);
  const echo = await kit.startEcho();
  const { server } = await startGateway(t, { autoGenPrivateKeyPath: '' });
  const port = serverSshPort(server);

  const typo = runSsh(t, port, key, echo.port, ['tcp', '--remote_prot', '9090', '--token', TOKEN]);
  assert.equal(await typo.exited, 1, typo.stderr);
  assert.match(typo.stdout, /^unknown flag: --remote_prot \(tcp takes: --proxy_name /);

  const kind = runSsh(t, port, key, echo.port, ['udp', '--token', TOKEN]);
  assert.equal(await kind.exited, 1);
  assert.match(kind.stdout, /^invalid proxy type: udp, support types: \[tcp http https tcpmux stcp\]/);

  const token = runSsh(t, port, key, echo.port, ['tcp', '--token', 'wrong']);
  assert.equal(await token.exited, 1);
  assert.match(token.stdout, /login to .* failed: .*token/);

  const domain = runSsh(t, port, key, echo.port, ['http', '--token', TOKEN]);
  assert.equal(await domain.exited, 1);
  assert.match(domain.stdout, /--custom_domain: required for type "http"/);

  const help = runSsh(t, port, key, echo.port, ['tcp', '--help']);
  assert.equal(await help.exited, 0);
  assert.match(help.stdout, /-r, --remote_port int/);
  assert.equal(server.clients.length, 0);
});

test('the generated host key is kept at autoGenPrivateKeyPath (0600) and served again after a restart', async (t) => {
  const { dir } = keyDir(t);
  const path = join(dir, 'autogen_ssh_key');
  const first = await startGateway(t, { autoGenPrivateKeyPath: path });
  const scanned = await scanHostKey(serverSshPort(first.server));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const kept = readFileSync(path);
  await first.gateway.stop();
  await first.server.stop();

  const second = await startGateway(t, { autoGenPrivateKeyPath: path });
  assert.equal(await scanHostKey(serverSshPort(second.server)), scanned);
  assert.deepEqual(readFileSync(path), kept);
  // What ssh-keyscan saw is the public half of the kept file.
  assert.equal(scanned, execFileSync('ssh-keygen', ['-y', '-f', path]).toString().trim().split(' ').slice(0, 2).join(' '));
});

test('SSH connections per address are capped: one past the cap is closed before the greeting; a freed place is taken again', async (t) => {
  const { gateway, server } = await startGateway(t, { autoGenPrivateKeyPath: '' });
  const port = serverSshPort(server);
  const greeting = async (): Promise<{ socket: Socket; first: string }> => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    whenDone(t, () => socket.destroy());
    const [first] = (await once(socket, 'data')) as [Buffer];
    return { socket, first: first.toString() };
  };
  const held: Socket[] = [];
  for (let i = 0; i < MAX_CONNECTIONS_PER_ADDRESS; i++) {
    const { socket, first } = await greeting();
    assert.match(first, /^SSH-2\.0-/);
    held.push(socket);
  }
  assert.equal(gateway.connectionCount, MAX_CONNECTIONS_PER_ADDRESS);
  const extra = connect({ host: '127.0.0.1', port });
  extra.on('error', () => {});
  let received = 0;
  extra.on('data', (c: Buffer) => {
    received += c.length;
  });
  await once(extra, 'close');
  assert.equal(received, 0);
  held[0]?.destroy();
  await waitFor(() => gateway.connectionCount === MAX_CONNECTIONS_PER_ADDRESS - 1, 'the freed place');
  assert.match((await greeting()).first, /^SSH-2\.0-/);
});

/** `type base64` of the host key the gateway on `port` presents. */
async function scanHostKey(port: number): Promise<string> {
  // Not execFileSync: the gateway answering it runs in this process.
  const { stdout: out } = await promisify(execFile)('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1']);
  const line = out.split('\n').find((l) => l.includes('ssh-ed25519')) ?? '';
  return line.split(' ').slice(1, 3).join(' ');
}
