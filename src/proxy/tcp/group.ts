import type { Server, Socket } from 'node:net';
import type { TcpProxyGroup, TcpServerProxy } from '../proxy/tcp.js';

/**
 * A tcp load-balancing group: proxies with the same `group` and `group_key`
 * share one public port; visitors are handed to the members in turn. The
 * port closes when the last member leaves.
 */
export class TcpGroup implements TcpProxyGroup {
  private readonly members: TcpServerProxy[] = [];
  private next = 0;

  constructor(
    readonly name: string,
    readonly key: string,
    private readonly listener: Server,
    private readonly onEmpty: (group: TcpGroup) => void,
  ) {
    // An accept failure (say, out of file descriptors) must not take the whole server down.
    listener.on('error', () => {});
    listener.on('connection', (socket: Socket) => {
      const member = this.members[this.next++ % Math.max(1, this.members.length)];
      if (member) member.accept(socket);
      else socket.destroy();
    });
  }

  get port(): number {
    const a = this.listener.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get size(): number {
    return this.members.length;
  }

  join(member: TcpServerProxy): void {
    this.members.push(member);
  }

  leave(member: TcpServerProxy): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    if (this.members.length === 0) {
      this.listener.close();
      this.onEmpty(this);
    }
  }
}
