import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BurrowClient } from '../../src/client/client.js';
import { runVerify, type CliOutput } from '../../src/cli/config-commands.js';
import { loadClientConfig, loadServerConfig } from '../../src/config/load.js';
import { BurrowServer } from '../../src/server/server.js';
import { problems } from '../helpers/config.js';
import { echoThrough, portOf, startEcho, testLogger, whenDone } from '../helpers/tunnel.js';

/**
 * auth.tokenSource = { type = "exec" } as frp's e2e "[Feature: TokenSource]"
 * writes it: a script that prints its first argument is the token, on the
 * server, the client or both, allowed only with --allow-unsafe=TokenSourceExec.
 */
const ALLOW = { allowUnsafe: ['TokenSourceExec'] };

function scratch(): { dir: string; script: string; write(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-token-exec-'));
  const script = join(dir, 'token.sh');
  writeFileSync(script, '#!/bin/sh\nprintf \'%s\\n\' "$1"\n');
  chmodSync(script, 0o700);
  return {
    dir,
    script,
    write(name, text) {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
  };
}

const execSource = (script: string, value: string): string =>
  `auth.tokenSource.type = "exec"\nauth.tokenSource.exec.command = ${JSON.stringify(script)}\nauth.tokenSource.exec.args = [${JSON.stringify(value)}]\n`;

test('an exec tokenSource on the server and the client: the printed token logs in and the tunnel carries data', async (t) => {
  const s = scratch();
  const echo = await startEcho();
  whenDone(t, () => echo.close());
  const serverFile = s.write('frps.toml', `bindAddr = "127.0.0.1"\nbindPort = 0\n${execSource(s.script, 'exec-shared-value')}`);
  const serverConfig = loadServerConfig(serverFile, ALLOW);
  assert.equal(serverConfig.auth.token, 'exec-shared-value', 'trimmed standard output');
  const server = new BurrowServer(serverConfig, testLogger('server'));
  whenDone(t, () => server.stop());
  await server.start();

  const clientText = (value: string): string =>
    `serverAddr = "127.0.0.1"\nserverPort = ${server.port}\ntransport.tls.enable = false\n${execSource(s.script, value)}\n` +
    `[[proxies]]\nname = "tcp"\ntype = "tcp"\nlocalPort = ${echo.port}\nremotePort = 0\n`;
  const client = new BurrowClient(loadClientConfig(s.write('frpc.toml', clientText('exec-shared-value')), ALLOW), testLogger('client'));
  whenDone(t, () => client.stop());
  await client.start();
  const port = portOf((await client.waitForProxy('tcp')).remoteAddr);
  assert.equal((await echoThrough(port, Buffer.from('hello'))).toString(), 'hello');

  const wrong = new BurrowClient(loadClientConfig(s.write('frpc-wrong.toml', clientText('another-value')), ALLOW), testLogger('client'));
  whenDone(t, () => wrong.stop());
  await assert.rejects(wrong.start(), /token/i, 'a different printed token is refused at login');
});

test("without --allow-unsafe=TokenSourceExec the file is refused with frp's words, and the program does not run", () => {
  const s = scratch();
  const marker = join(s.dir, 'ran');
  const touch = s.write('touch.sh', `#!/bin/sh\necho x > ${JSON.stringify(marker)}\necho tok\n`);
  chmodSync(touch, 0o700);
  const file = s.write('frps.toml', `bindPort = 7000\n${execSource(touch, 'x')}`);
  const refusal = 'auth.tokenSource.type: unsafe feature "TokenSourceExec" is not enabled. To enable it, start with --allow-unsafe=TokenSourceExec';
  assert.deepEqual(
    problems(() => loadServerConfig(file)),
    [refusal],
  );
  assert.deepEqual(
    problems(() => loadClientConfig(s.write('frpc.toml', `serverPort = 7000\n${execSource(touch, 'x')}`))),
    [refusal],
  );

  let out = '';
  let err = '';
  const io: CliOutput = { out: (x) => void (out += x), err: (x) => void (err += x) };
  const before = process.exitCode;
  try {
    runVerify(['-c', file], io);
    assert.equal(process.exitCode, 1);
    assert.match(err, /unsafe feature "TokenSourceExec" is not enabled/);
    process.exitCode = undefined;
    runVerify(['-c', file, '--allow-unsafe=TokenSourceExec'], io);
    assert.equal(process.exitCode, undefined);
    assert.match(out, /frps\.toml: OK/);
  } finally {
    process.exitCode = before;
  }
  assert.throws(
    () => runVerify(['-c', file, '--allow-unsafe=TokenSourceExce'], io),
    /--allow-unsafe: unknown feature "TokenSourceExce"; known: TokenSourceExec/,
  );
  assert.equal(existsSync(marker), false, 'verify checks the source without running it');
});
