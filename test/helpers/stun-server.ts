import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

/** RFC 5780's OTHER-ADDRESS: where the server answers from its other address. */
const ATTR_OTHER_ADDRESS = 0x802c;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;

export interface TestStunServer {
  port: number;
  /** Binding requests answered, both sockets together */
  requests: () => number;
  /** the second socket's port when started with `otherAddress` */
  otherPort: number;
  close(): void;
}

/**
 * A STUN server on 127.0.0.1 for tests: answers every Binding request with
 * the sender's address in XOR-MAPPED-ADDRESS (RFC 5389), as a public STUN
 * server would for a host without NAT. With `otherAddress` it also listens
 * on a second socket and names it in OTHER-ADDRESS, as the NAT-behaviour
 * servers frp's discovery relies on do.
 */
export async function startStunServer(opts: { otherAddress?: boolean } = {}): Promise<TestStunServer> {
  let requests = 0;
  const sockets: Socket[] = [];
  const open = async (): Promise<Socket> => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    sockets.push(socket);
    return socket;
  };
  const main = await open();
  const other = opts.otherAddress ? await open() : undefined;
  const answer = (socket: Socket, withOther: boolean) =>
    socket.on('message', (msg, rinfo) => {
      if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== 0x2112a442) return;
      requests++;
      const attrs = [addressAttr(ATTR_XOR_MAPPED_ADDRESS, rinfo.address, rinfo.port, true)];
      if (withOther && other) attrs.push(addressAttr(ATTR_OTHER_ADDRESS, '127.0.0.1', other.address().port, false));
      const body = Buffer.concat(attrs);
      const res = Buffer.alloc(20);
      res.writeUInt16BE(0x0101, 0);
      res.writeUInt16BE(body.length, 2);
      msg.copy(res, 4, 4, 20); // cookie and transaction id
      socket.send(Buffer.concat([res, body]), rinfo.port, rinfo.address);
    });
  answer(main, true);
  if (other) answer(other, false);
  return {
    port: main.address().port,
    otherPort: other?.address().port ?? 0,
    requests: () => requests,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

function addressAttr(type: number, address: string, port: number, xor: boolean): Buffer {
  const a = Buffer.alloc(12);
  a.writeUInt16BE(type, 0);
  a.writeUInt16BE(8, 2);
  a[5] = 0x01;
  const ip = address.split('.').reduce((n, b) => n * 256 + Number(b), 0);
  a.writeUInt16BE(xor ? port ^ 0x2112 : port, 6);
  a.writeUInt32BE(xor ? (ip ^ 0x2112a442) >>> 0 : ip, 8);
  return a;
}
