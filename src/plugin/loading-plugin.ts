import type { Duplex } from 'node:stream';
import type { ClientPluginSettings } from '../config/types.js';
import { hostPort } from '../util/address.js';
import { describeError } from '../util/errors.js';
import { RefusalLog } from '../util/refusal-log.js';
import type { ClientPlugin, ConnectionInfo, PluginContext } from './types.js';

export type ClientPluginFactory = (settings: ClientPluginSettings, context: PluginContext) => ClientPlugin;

/** Work connections held while the plugin's module loads (tens of milliseconds); past this many, new ones are closed. */
const MAX_WAITING = 256;

enum LoadState {
  Loading,
  Ready,
  /** the module or the plugin's own start failed after its settings passed the check */
  Failed,
  Closed,
}

const ignoreError = (): void => {};

/**
 * A proxy's plugin while its module loads: the proxy starts at once (its
 * settings were checked already), work connections that arrive first wait
 * here, bounded, and go to the plugin in order once it is made.
 */
export class LoadingPlugin implements ClientPlugin {
  private state = LoadState.Loading;
  private plugin: ClientPlugin | undefined;
  private readonly waiting = new Map<Duplex, ConnectionInfo>();
  /** After a failed start every visitor is closed: said once, then summed up, not a line each. */
  private readonly refusals: RefusalLog;
  /** Settles when the plugin is made (true), or failed or was closed first (false); for tests and status. */
  readonly ready: Promise<boolean>;

  constructor(
    factory: Promise<ClientPluginFactory>,
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.refusals = new RefusalLog(context.logger);
    this.ready = factory
      .then((make) => make(settings, context))
      .then(
        (plugin) => this.loaded(plugin),
        (err: unknown) => this.failed(err),
      )
      .catch((err: unknown) => this.failed(err));
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    if (this.state === LoadState.Ready) {
      this.plugin!.handle(conn, info);
      return;
    }
    if (this.state === LoadState.Failed) {
      const from = info.source ? hostPort(info.source.address, info.source.port) : 'unknown';
      this.refusals.refused("the proxy's plugin could not start", from, { proxy: this.context.proxyName });
    }
    if (this.state !== LoadState.Loading || this.waiting.size >= MAX_WAITING) {
      conn.destroy();
      return;
    }
    // Until the plugin takes it: an error must not crash the client (the close that follows drops it from the wait).
    conn.on('error', ignoreError);
    conn.once('close', () => this.waiting.delete(conn));
    this.waiting.set(conn, info);
  }

  async close(): Promise<void> {
    const was = this.state;
    this.state = LoadState.Closed;
    this.refusals.close();
    this.dropWaiting();
    if (was === LoadState.Ready) await this.plugin!.close();
  }

  private loaded(plugin: ClientPlugin): boolean {
    if (this.state === LoadState.Closed) {
      plugin.close().catch((err: unknown) => this.context.logger.debug('plugin close failed', { proxy: this.context.proxyName, reason: describeError(err) }));
      return false;
    }
    this.state = LoadState.Ready;
    this.plugin = plugin;
    const handover = [...this.waiting];
    this.waiting.clear();
    for (const [conn, info] of handover) {
      if (conn.destroyed) continue;
      conn.off('error', ignoreError);
      try {
        plugin.handle(conn, info);
      } catch (err) {
        // handle() must not throw; if one does, that connection ends and the others still go.
        this.context.logger.error('plugin refused a connection', { proxy: this.context.proxyName, reason: describeError(err) });
        conn.destroy();
      }
    }
    return true;
  }

  private failed(err: unknown): boolean {
    if (this.state === LoadState.Closed) return false;
    this.state = LoadState.Failed;
    this.context.logger.error('plugin could not start; its connections are closed', { proxy: this.context.proxyName, reason: describeError(err) });
    this.dropWaiting();
    return false;
  }

  private dropWaiting(): void {
    const waiting = [...this.waiting.keys()];
    this.waiting.clear();
    for (const conn of waiting) conn.destroy();
  }
}
