/**
 * unix_domain_socket: each work connection is joined to a fresh connection
 * to `unixPath`, after the PROXY protocol header when the proxy sends one.
 */
import type { Duplex } from 'node:stream';
import { requireUnixPath } from './settings-check.js';
import type { ClientPluginSettings } from '../config/types.js';
import { ConnectionSet } from './connection-set.js';
import { joinToLocal } from './local-join.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

export class UnixDomainSocketPlugin implements ClientPlugin {
  private readonly path: string;
  private readonly conns = new ConnectionSet();

  constructor(
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.path = requireUnixPath(settings);
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    this.conns.add(conn);
    joinToLocal(conn, { path: this.path }, info, this.context, 'unix_domain_socket');
  }

  close(): Promise<void> {
    this.conns.destroyAll();
    return Promise.resolve();
  }
}

export function createUnixDomainSocketPlugin(settings: ClientPluginSettings, context: PluginContext): ClientPlugin {
  return new UnixDomainSocketPlugin(settings, context);
}
