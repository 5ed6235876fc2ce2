import dgram from 'node:dgram';
import { once } from 'node:events';

export interface LossyRelay {
  port: number;
  /** datagrams dropped so far, per direction */
  dropped: { c2s: number; s2c: number };
  forwarded: { c2s: number; s2c: number };
  close(): Promise<void>;
}

/**
 * A UDP relay on 127.0.0.1 between one client and `targetPort`: the client
 * sends to `port`; every `dropEvery`-th datagram in each direction is dropped
 * (deterministic loss: 20 = 5 %), and every `swapEvery`-th is held back until
 * the next one has gone (reordering). 0 turns either off.
 */
export async function startLossyRelay(targetPort: number, opts: { dropEvery: number; swapEvery?: number }): Promise<LossyRelay> {
  const big = { type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } as const;
  const front = dgram.createSocket(big);
  const back = dgram.createSocket(big);
  front.bind(0, '127.0.0.1');
  back.bind(0, '127.0.0.1');
  await Promise.all([once(front, 'listening'), once(back, 'listening')]);
  let client: { address: string; port: number } | undefined;
  const dropped = { c2s: 0, s2c: 0 };
  const forwarded = { c2s: 0, s2c: 0 };
  const counts = { c2s: 0, s2c: 0 };
  const held: { c2s: Buffer | undefined; s2c: Buffer | undefined } = { c2s: undefined, s2c: undefined };
  const relay = (dir: 'c2s' | 's2c', msg: Buffer, send: (m: Buffer) => void): void => {
    const n = ++counts[dir];
    if (opts.dropEvery > 0 && n % opts.dropEvery === 0) {
      dropped[dir]++;
      return;
    }
    if (opts.swapEvery && n % opts.swapEvery === 0 && !held[dir]) {
      held[dir] = msg;
      return;
    }
    send(msg);
    forwarded[dir]++;
    const late = held[dir];
    if (late) {
      held[dir] = undefined;
      send(late);
      forwarded[dir]++;
    }
  };
  front.on('message', (msg, rinfo) => {
    client ??= { address: rinfo.address, port: rinfo.port };
    relay('c2s', msg, (m) => back.send(m, targetPort, '127.0.0.1'));
  });
  back.on('message', (msg) => {
    const c = client;
    if (c) relay('s2c', msg, (m) => front.send(m, c.port, c.address));
  });
  return {
    port: front.address().port,
    dropped,
    forwarded,
    async close() {
      await Promise.all([new Promise<void>((r) => front.close(() => r())), new Promise<void>((r) => back.close(() => r()))]);
    },
  };
}

/** A UDP port free right now (for frp's kcpBindPort, where 0 means off). */
export async function freeUdpPort(): Promise<number> {
  const probe = dgram.createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}
