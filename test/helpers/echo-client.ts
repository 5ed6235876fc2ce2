import { once } from 'node:events';
import { connect } from 'node:net';

/** Bytes sent to host:port, and what came back before the far side closed (the echo service behind a tunnel); rejects on a socket error. */
export async function echoAt(host: string, port: number, data: Buffer): Promise<Buffer> {
  const socket = connect({ host, port });
  const chunks: Buffer[] = [];
  let got = 0;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    got += c.length;
    if (got >= data.length) socket.end();
  });
  socket.write(data);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

/** Whether bytes sent to host:port come back whole; false on any failure (for loops that count served users). */
export function echoes(host: string, port: number, data: Buffer): Promise<boolean> {
  return echoAt(host, port, data).then(
    (back) => back.equals(data),
    () => false,
  );
}
