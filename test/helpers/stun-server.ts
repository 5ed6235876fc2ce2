import { createSocket } from 'node:dgram';
import { once } from 'node:events';

/**
 * A STUN server on 127.0.0.1 for tests: answers every Binding request with
 * the sender's address in XOR-MAPPED-ADDRESS (RFC 5389), as a public STUN
 * server would for a host without NAT.
 */
export async function startStunServer(): Promise<{ port: number; requests: () => number; close(): void }> {
  const socket = createSocket('udp4');
  let requests = 0;
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== 0x2112a442) return;
    requests++;
    const res = Buffer.alloc(32);
    res.writeUInt16BE(0x0101, 0);
    res.writeUInt16BE(12, 2);
    msg.copy(res, 4, 4, 20); // cookie and transaction id
    res.writeUInt16BE(0x0020, 20);
    res.writeUInt16BE(8, 22);
    res[25] = 0x01;
    res.writeUInt16BE(rinfo.port ^ 0x2112, 26);
    const ip = rinfo.address.split('.').reduce((n, b) => n * 256 + Number(b), 0);
    res.writeUInt32BE((ip ^ 0x2112a442) >>> 0, 28);
    socket.send(res, rinfo.port, rinfo.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { port: socket.address().port, requests: () => requests, close: () => socket.close() };
}
