import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectionInfoFromStart } from '../../src/plugin/connection-info.js';
import { createUnixDomainSocketPlugin } from '../../src/plugin/unix-domain-socket.js';
import { rawExchange, servePlugin, testContext, type PluginHarness } from '../helpers/plugin-harness.js';

describe('plugin unix_domain_socket', () => {
  let dir: string;
  let echo: net.Server;
  let harness: PluginHarness;
  let withHeader: PluginHarness;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plugin-uds-'));
    const path = join(dir, 'echo.sock');
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(path, r));
    harness = await servePlugin(createUnixDomainSocketPlugin({ type: 'unix_domain_socket', unixPath: path }, testContext().context), {}, true);
    const info = connectionInfoFromStart({ src_addr: '1.2.3.4', src_port: 5678, dst_addr: '10.0.0.1', dst_port: 6000 }, 'v1');
    withHeader = await servePlugin(createUnixDomainSocketPlugin({ type: 'unix_domain_socket', unixPath: path }, testContext().context), info);
  });

  after(async () => {
    await harness.close();
    await withHeader.close();
    await new Promise((r) => echo.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const roundTrip = (port: number, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      sock.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.endsWith(text)) {
          sock.destroy();
          resolve(got);
        }
      });
      sock.on('error', reject);
      sock.write(text);
    });

  it('joins the work connection to the unix socket (frp e2e: an echo server)', async () => {
    assert.equal(await roundTrip(harness.port, 'hello over uds'), 'hello over uds');
  });

  it('sends the PROXY protocol header first when the proxy asks for one', async () => {
    assert.equal(await roundTrip(withHeader.port, 'x'), 'PROXY TCP4 1.2.3.4 10.0.0.1 5678 6000\r\nx');
  });

  it('closes the work connection when the socket path does not exist', async () => {
    const { context, lines } = testContext();
    const h = await servePlugin(createUnixDomainSocketPlugin({ type: 'unix_domain_socket', unixPath: join(dir, 'missing.sock') }, context));
    assert.equal(await rawExchange(h.port, 'data'), '');
    assert.ok(lines.some((l) => l.includes('cannot reach the local service')));
    await h.close();
  });

  it('refuses an empty unixPath when made', () => {
    assert.throws(() => createUnixDomainSocketPlugin({ type: 'unix_domain_socket' }, testContext().context), { code: 'BURROW_CONFIG_INVALID' });
  });
});
