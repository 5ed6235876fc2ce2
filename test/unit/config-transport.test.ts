import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientConfig, buildServerConfig } from '../../src/config/load.js';
import { parseIni } from '../../src/config/ini.js';
import { mapClientIni, mapServerIni } from '../../src/config/ini-map.js';
import { problems } from '../helpers/config.js';

const CLIENT_INI = `[common]
server_addr = tunnel.example
protocol = wss
http_proxy = socks5://u:p@127.0.0.1:1080
dns_server = 127.0.0.1:5353
connect_server_local_ip = 127.0.0.2
tls_cert_file = c.pem
tls_key_file = k.pem
tls_trusted_ca_file = ca.pem
tls_server_name = tunnel.example
disable_custom_tls_first_byte = false
tls_server_fingerprint = sha256:${'0A:'.repeat(31)}0A
`;

test('client transport keys: INI snake_case lands on the TOML names', () => {
  const mapped = mapClientIni({ file: parseIni(CLIENT_INI), label: '' });
  const c = buildClientConfig(mapped.raw);
  assert.equal(c.transport.protocol, 'wss');
  assert.equal(c.transport.proxyURL, 'socks5://u:p@127.0.0.1:1080');
  assert.equal(c.dnsServer, '127.0.0.1:5353');
  assert.equal(c.transport.connectServerLocalIP, '127.0.0.2');
  assert.deepEqual(
    { ...c.transport.tls },
    {
      enable: true,
      disableCustomTLSFirstByte: false,
      serverName: 'tunnel.example',
      certFile: 'c.pem',
      keyFile: 'k.pem',
      trustedCaFile: 'ca.pem',
      serverFingerprint: `sha256:${'0A:'.repeat(31)}0A`,
    },
  );
});

test('server TLS keys: tls_only is transport.tls.force; kcp/quic bind ports load', () => {
  const ini =
    '[common]\nbind_port = 7000\nkcp_bind_port = 7000\nquic_bind_port = 7002\ntls_only = true\ntls_cert_file = s.pem\ntls_key_file = s.key\n' +
    'tls_generated_cert_dir = certs\nallow_empty_token = true\n';
  const s = buildServerConfig(mapServerIni({ file: parseIni(ini), label: '' }).raw);
  assert.equal(s.transport.tls.force, true);
  assert.equal(s.transport.tls.generatedCertDir, 'certs');
  assert.equal(s.auth.allowEmptyToken, true);
  assert.equal(s.transport.tls.certFile, 's.pem');
  assert.equal(s.kcpBindPort, 7000);
  assert.equal(s.quicBindPort, 7002);
});

test('proxy URL, DNS server and certificate pairs are checked at load, with the key named', () => {
  assert.deepEqual(
    problems(() =>
      buildClientConfig({
        dnsServer: 'dns.example',
        transport: { proxyURL: 'ntlm://h:1', tls: { certFile: 'c.pem' } },
      }),
    ),
    [
      'transport.proxyURL: proxy scheme "ntlm" is not supported; use http:// (CONNECT) or socks5://',
      'dnsServer: dnsServer "dns.example" must be an IP address with an optional port, e.g. 8.8.8.8 or 8.8.8.8:53',
      'transport.tls.keyFile: required together with transport.tls.certFile',
    ],
  );
  assert.deepEqual(
    problems(() => buildServerConfig({ transport: { tls: { keyFile: 'k.pem' } } })),
    ['transport.tls.certFile: required together with transport.tls.keyFile'],
  );
  // Valid forms load.
  buildClientConfig({ dnsServer: '[::1]:53', transport: { proxyURL: 'http://user:p%40ss@[::1]:3128' } });
});
