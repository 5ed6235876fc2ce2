import type { Duplex } from 'node:stream';

/** The connections a plugin holds, so close() can end them; each leaves the set when it closes. */
export class ConnectionSet {
  private readonly open = new Set<Duplex>();

  add(conn: Duplex): void {
    if (conn.destroyed) return;
    this.open.add(conn);
    conn.once('close', () => this.open.delete(conn));
  }

  destroyAll(): void {
    for (const conn of this.open) conn.destroy();
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
