import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { whenDone } from './tunnel.js';

/** A TCP front door (a load balancer's job): each connection goes to the first node that accepts it. */
export async function frontDoor(t: TestContext, targets: Array<() => { host: string; port: number }>): Promise<number> {
  const door = createServer((inbound: Socket) => {
    inbound.on('error', () => {});
    const tryNext = (i: number): void => {
      if (i >= targets.length) return void inbound.destroy();
      const out = connect(targets[i]!());
      out.once('error', () => tryNext(i + 1));
      out.once('connect', () => {
        out.on('error', () => inbound.destroy());
        inbound.pipe(out).pipe(inbound);
        inbound.on('close', () => out.destroy());
        out.on('close', () => inbound.destroy());
      });
    };
    tryNext(0);
  });
  door.listen(0, '127.0.0.1');
  await once(door, 'listening');
  whenDone(t, () => new Promise((r) => door.close(r)));
  return (door.address() as AddressInfo).port;
}
