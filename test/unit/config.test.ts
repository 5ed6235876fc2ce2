import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientConfig, buildServerConfig } from '../../src/config/load.js';
import { problems } from '../helpers/config.js';

test('server defaults follow frp', () => {
  const cfg = buildServerConfig({});
  assert.equal(cfg.bindAddr, '0.0.0.0');
  assert.equal(cfg.bindPort, 7000);
  assert.equal(cfg.proxyBindAddr, '0.0.0.0');
  assert.equal(cfg.transport.tcpMux, true);
  assert.equal(cfg.transport.maxPoolCount, 5);
  assert.equal(cfg.transport.heartbeatTimeout, -1);
  assert.equal(cfg.userConnTimeout, 10);
  assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.transport));
});

test('heartbeats default on when tcpMux is off, as frp', () => {
  assert.equal(buildServerConfig({ transport: { tcpMux: false } }).transport.heartbeatTimeout, 90);
  const c = buildClientConfig({ transport: { tcpMux: false } });
  assert.equal(c.transport.heartbeatInterval, 30);
  assert.equal(c.transport.heartbeatTimeout, 90);
});

test('client defaults follow frp: TLS on, no custom first byte, pool 1, loginFailExit', () => {
  const c = buildClientConfig({ proxies: [{ name: 'ssh', localPort: 22 }] });
  assert.equal(c.transport.tls.enable, true);
  assert.equal(c.transport.tls.disableCustomTLSFirstByte, true);
  assert.equal(c.transport.poolCount, 1);
  assert.equal(c.loginFailExit, true);
  assert.deepEqual(c.proxies[0], {
    name: 'ssh',
    type: 'tcp',
    enabled: true,
    localIP: '127.0.0.1',
    localPort: 22,
    remotePort: 0,
    transport: { useEncryption: false, useCompression: false },
  });
});

test('allowPorts accepts frp list form and the INI string form', () => {
  assert.deepEqual(buildServerConfig({ allowPorts: [{ start: 2000, end: 3000 }, { single: 3001 }] }).allowPorts, [
    { start: 2000, end: 3000 },
    { start: 3001, end: 3001 },
  ]);
  assert.deepEqual(buildServerConfig({ allowPorts: '2000-3000,3001' }).allowPorts, [
    { start: 2000, end: 3000 },
    { start: 3001, end: 3001 },
  ]);
});

test('every problem of a file is reported together, each with its path', () => {
  const list = problems(() =>
    buildClientConfig({
      serverPort: 70000,
      transport: { tcpMux: 'yes' },
      proxies: [
        { name: 'a', localPrt: 22 },
        { name: 'a', localPort: 22, type: 'tcpp' },
      ],
    }),
  );
  assert.deepEqual(list.sort(), [
    'proxies[0].localPort: required',
    'proxies[0].localPrt: unknown key, did you mean localPort?',
    'proxies[1].name: duplicate proxy name "a"',
    'proxies[1].type: expected one of tcp, udp, http, https, tcpmux, stcp, sudp, xtcp, got "tcpp"',
    'serverPort: 70000 is out of range 1–65535',
    'transport.tcpMux: expected true or false, got "yes"',
  ]);
});

test('server port ranges out of bounds are refused', () => {
  const list = problems(() => buildServerConfig({ bindPort: -1, allowPorts: '5000-4000' }));
  assert.equal(list.length, 2);
  assert.match(list[0]!, /^bindPort: -1 is out of range/);
  assert.match(list[1]!, /^allowPorts: invalid port range 5000-4000/);
});
