import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAuthorizedKeys } from '../../src/sshgw/authorized-keys.js';
import { flagOfKey, MAX_COMMAND_LENGTH, parseTunnelCommand, type TunnelCommand } from '../../src/sshgw/command-line.js';
import { isBurrowError } from '../../src/util/errors.js';

function run(line: string): TunnelCommand {
  const parsed = parseTunnelCommand(line);
  assert.equal(parsed.kind, 'run');
  return parsed.command;
}

function refusal(line: string): string {
  try {
    parseTunnelCommand(line);
  } catch (err) {
    assert.ok(isBurrowError(err, 'BURROW_SSH_COMMAND'));
    return err.message;
  }
  assert.fail(`"${line}" was accepted`);
}

test('frp e2e command lines parse as frp reads them', () => {
  const tcp = run('tcp --remote-port 9090').proxy;
  assert.deepEqual(tcp, { type: 'tcp', remotePort: 9090, name: tcp.name });
  assert.match(tcp.name, /^sshtunnel-tcp-[0-9a-f]{8}$/);
  assert.deepEqual(run('http --custom-domain test.example.com').proxy.customDomains, ['test.example.com']);
  const mux = run('tcpmux --mux=httpconnect --custom-domain test.example.com').proxy;
  assert.equal(mux.multiplexer, 'httpconnect');
  // The e2e suite sends the quotes literally: list values are read as CSV, as pflag does.
  const stcp = run('stcp -n stcp-test --sk=abcdefg --allow-users="*"').proxy;
  assert.deepEqual(stcp, { type: 'stcp', name: 'stcp-test', secretKey: 'abcdefg', allowUsers: ['*'] });
});

test('long names take _ or -, shorthands take their value attached or next; client flags are kept apart', () => {
  const c = run('tcp --proxy_name a -r1234 --token=T -u bob --client-id box1');
  assert.deepEqual(c.proxy, { type: 'tcp', name: 'a', remotePort: 1234 });
  assert.deepEqual([c.token, c.user, c.clientID], ['T', 'bob', 'box1']);
  assert.equal(run('tcp -n=x').proxy.name, 'x');
  // A repeated plain flag: the last wins; a repeated list flag appends.
  assert.equal(run('tcp -n a -n b').proxy.name, 'b');
  assert.deepEqual(run('http -d a.example.com,b.example.com --custom_domain "c,d.example.com",e.example.com').proxy.customDomains, [
    'a.example.com',
    'b.example.com',
    'c,d.example.com',
    'e.example.com',
  ]);
  const http = run('http --metadatas k=v,x=y=z --sd app').proxy;
  assert.deepEqual(http, { type: 'http', name: http.name, metadatas: { k: 'v', x: 'y=z' }, subdomain: 'app' });
});

test('help, and each refusal names what was wrong', () => {
  assert.equal(parseTunnelCommand('').kind, 'help');
  const help = parseTunnelCommand('stcp -h');
  assert.ok(help.kind === 'help' && /--sk string/.test(help.text) && /--allow_users strings/.test(help.text));
  assert.equal(refusal('udp'), 'invalid proxy type: udp, support types: [tcp http https tcpmux stcp]');
  assert.match(refusal('tcp --custom-domain x'), /^unknown flag: --custom-domain \(tcp takes: --proxy_name --metadatas --annotations --remote_port /);
  assert.equal(refusal('tcp -x 1'), "unknown shorthand flag: 'x' in -x");
  assert.equal(refusal('tcp --remote_port'), 'flag needs an argument: --remote_port');
  assert.equal(refusal('tcp -r abc'), 'invalid argument "abc" for --remote_port: not a whole number');
  assert.equal(refusal('tcp 9090'), 'unexpected argument "9090": flags start with - or --');
  assert.equal(refusal('http --metadatas novalue'), 'invalid argument "novalue" for --metadatas: must be key=value');
  assert.match(refusal('stcp --allow-users "a'), /a quote is not closed/);
  assert.match(refusal('http -d "a".b'), /text after a closing quote/);
  assert.match(refusal(`tcp -n ${'x'.repeat(MAX_COMMAND_LENGTH)}`), /longer than 4096 characters/);
  assert.equal(flagOfKey('http', 'proxies[0].customDomains'), '--custom_domain');
  assert.equal(flagOfKey('tcp', 'proxies[0].localPort'), 'localPort');
});

test('authorized_keys: options before the key are skipped over, the comment is the user, bad lines are reported', () => {
  const ed = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
  const skipped: number[] = [];
  const keys = parseAuthorizedKeys(
    `# users\n\nssh-ed25519 ${ed} alice\nfrom="10.0.0.1",no-pty ssh-ed25519 ${ed}   bob  smith \nnonsense\nssh-ed25519 AAAA carol\n`,
    (line) => skipped.push(line),
  );
  assert.deepEqual(skipped, [5, 6]);
  assert.equal(keys.size, 1);
  const [entry] = [...keys.values()];
  assert.equal(entry?.user, 'bob  smith');
  assert.equal(entry?.key.type, 'ssh-ed25519');
});
