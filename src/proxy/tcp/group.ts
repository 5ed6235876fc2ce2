import type { Server, Socket } from 'node:net';
import { BurrowError } from '../../util/errors.js';
import { sameSecret } from '../../util/secret.js';
import type { TcpProxyGroup, TcpServerProxy } from './server.js';

/**
 * A cluster's say on a group user (docs/cluster.md): undefined to serve it
 * here, else its relay to another node's members of the group on `port`.
 */
export type TcpGroupSpread = (port: number, socket: Socket, localMembers: number) => ((preface: Buffer) => Promise<void>) | undefined;

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
    spread?: TcpGroupSpread,
  ) {
    // An accept failure (say, out of file descriptors) must not take the whole server down.
    listener.on('error', () => {});
    listener.on('connection', (socket: Socket) => {
      const elsewhere = spread?.(this.port, socket, this.members.length);
      if (elsewhere) {
        void elsewhere(Buffer.alloc(0));
        return;
      }
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

/** The tcp load-balancing groups of one server, by group name. */
export class TcpGroups {
  private readonly groups = new Map<string, TcpGroup>();

  /** `spread`: a cluster's share of the users, when the group has members on other nodes too */
  constructor(private readonly spread?: TcpGroupSpread) {}

  /**
   * The group's shared port, opened by its first member with `listen`;
   * later members must bring the same key and port.
   */
  async groupFor(name: string, groupName: string, key: string, port: number, listen: (port: number) => Promise<Server>): Promise<TcpGroup> {
    const existing = this.groups.get(groupName);
    if (existing) {
      if (!sameSecret(existing.key, key)) throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": group [${groupName}] auth failed`);
      if (port !== 0 && port !== existing.port) {
        throw new BurrowError('BURROW_PROXY_REJECTED', `proxy "${name}": group [${groupName}] should have the same remote port ${existing.port}`);
      }
      return existing;
    }
    const listener = await listen(port);
    // Another member may have opened the group while this one waited for its port.
    const raced = this.groups.get(groupName);
    if (raced) {
      listener.close();
      return this.groupFor(name, groupName, key, port, listen);
    }
    const group = new TcpGroup(
      groupName,
      key,
      listener,
      (g) => {
        if (this.groups.get(groupName) === g) this.groups.delete(groupName);
      },
      this.spread,
    );
    this.groups.set(groupName, group);
    return group;
  }
}
