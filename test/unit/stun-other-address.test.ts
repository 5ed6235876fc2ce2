import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { discoverMappedAddresses } from '../../src/nathole/stun.js';
import { startStunServer } from '../helpers/stun-server.js';

// frps classifies the NAT from at least two mapped addresses and answers "not enough addresses"
// otherwise: as frp's discovery, the server's OTHER-ADDRESS is asked too, from the same socket.
test('STUN discovery also asks the OTHER-ADDRESS, from the same socket, as frp does', async (t) => {
  const stun = await startStunServer({ otherAddress: true });
  t.after(() => stun.close());
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  t.after(() => socket.close());
  const mine = `127.0.0.1:${socket.address().port}`;
  assert.deepEqual(await discoverMappedAddresses(socket, `127.0.0.1:${stun.port}`), [mine, mine]);
  assert.equal(stun.requests(), 2);
});

test('a STUN server without OTHER-ADDRESS gives one address', async (t) => {
  const stun = await startStunServer();
  t.after(() => stun.close());
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  t.after(() => socket.close());
  assert.deepEqual(await discoverMappedAddresses(socket, `127.0.0.1:${stun.port}`), [`127.0.0.1:${socket.address().port}`]);
});
