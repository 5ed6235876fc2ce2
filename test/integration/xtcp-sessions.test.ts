import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectMessage } from '../../src/control/message-io.js';
import { tokenDigest } from '../../src/protocol/auth.js';
import type { Message } from '../../src/protocol/messages.js';
import { rawLogin } from '../helpers/raw-client.js';
import { startServer } from '../helpers/tunnel.js';

/** Reads control messages until the NatHoleResp of transaction `tid`. */
async function respOf(next: () => Promise<Message>, tid: string): Promise<Message> {
  for (;;) {
    const m = await next();
    if (m.type === 'NatHoleResp' && m.body.transaction_id === tid) return m;
  }
}

/**
 * The server keeps at most 1024 hole-punching sessions, for every xtcp proxy
 * together, and each stays counted for a minute. A visitor that knows the
 * secret of one proxy must not fill that table alone and lock every other
 * owner's xtcp out: sessions are bounded per proxy and per visitor client too.
 */
test('one xtcp visitor cannot use up the hole-punching sessions of every other proxy', async () => {
  const server = await startServer();
  const owners = [await rawLogin(server.port), await rawLogin(server.port)];
  const attacker = await rawLogin(server.port);
  const victim = await rawLogin(server.port);
  try {
    for (const [i, owner] of owners.entries()) {
      const resp = await owner.newProxy({ proxy_name: `desk-${i}`, proxy_type: 'xtcp', sk: `sk-${i}`, allow_users: ['*'] });
      assert.equal(resp.type, 'NewProxyResp');
      assert.equal(resp.body.error ?? '', '');
    }
    const visit = (to: number, tid: string): Message => {
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        type: 'NatHoleVisitor',
        body: {
          transaction_id: tid,
          proxy_name: `desk-${to}`,
          sign_key: tokenDigest(`sk-${to}`, timestamp),
          timestamp,
          protocol: 'quic',
          mapped_addrs: ['127.0.0.1:1'],
        },
      };
    };
    // The owner of desk-0 never answers: every session waits, then stays counted.
    for (let i = 0; i < 1100; i++) attacker.send(visit(0, `a${i}`));
    await respOf(attacker.next, 'a1099');
    // The owner of desk-1 answers its session, so the victim is introduced.
    const owner = owners[1]!;
    victim.send(visit(1, 'v'));
    const { stream } = await owner.serveWorkConn();
    const sid = await expectMessage(stream, 'NatHoleSid', 5000);
    owner.send({ type: 'NatHoleClient', body: { transaction_id: 'o', sid: sid.sid, mapped_addrs: ['127.0.0.1:2'] } });
    const resp = await respOf(victim.next, 'v');
    assert.ok(resp.type === 'NatHoleResp');
    assert.equal(resp.body.error ?? '', '');
    assert.deepEqual(resp.body.candidate_addrs, ['127.0.0.1:2']);
    // The attacker's own refusals name the bound they met.
    attacker.send(visit(0, 'late'));
    const late = await respOf(attacker.next, 'late');
    assert.ok(late.type === 'NatHoleResp');
    assert.match(String(late.body.error ?? ''), /too many hole punching sessions for \[desk-0\]/);
  } finally {
    for (const c of [...owners, attacker, victim]) c.close();
    await server.stop();
  }
});
