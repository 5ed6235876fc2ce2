import type { Duplex } from 'node:stream';
import type { ClientPluginSettings } from '../config/types.js';
import { describeError } from '../util/errors.js';
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
  private readonly waiting: Array<{ conn: Duplex; info: ConnectionInfo }> = [];
  /** Settles when the plugin is made (true), or failed or was closed first (false); for tests and status. */
  readonly ready: Promise<boolean>;

  constructor(
    factory: Promise<ClientPluginFactory>,
    settings: ClientPluginSettings,
    private readonly context: PluginContext,
  ) {
    this.ready = factory
      .then((make) => make(settings, context))
      .then(
        (plugin) => this.loaded(plugin),
        (err: unknown) => this.failed(err),
      );
  }

  handle(conn: Duplex, info: ConnectionInfo): void {
    if (this.state === LoadState.Ready) {
      this.plugin!.handle(conn, info);
      return;
    }
    if (this.state !== LoadState.Loading || this.waiting.length >= MAX_WAITING) {
      conn.destroy();
      return;
    }
    // Until the plugin takes it, an error on the waiting connection must not go unheard.
    conn.on('error', ignoreError);
    this.waiting.push({ conn, info });
  }

  async close(): Promise<void> {
    const was = this.state;
    this.state = LoadState.Closed;
    for (const { conn } of this.waiting.splice(0)) conn.destroy();
    if (was === LoadState.Ready) await this.plugin!.close();
  }

  private loaded(plugin: ClientPlugin): boolean {
    if (this.state === LoadState.Closed) {
      void plugin.close();
      return false;
    }
    this.state = LoadState.Ready;
    this.plugin = plugin;
    for (const { conn, info } of this.waiting.splice(0)) {
      if (conn.destroyed) continue;
      plugin.handle(conn, info);
    }
    return true;
  }

  private failed(err: unknown): boolean {
    if (this.state === LoadState.Closed) return false;
    this.state = LoadState.Failed;
    this.context.logger.error('plugin could not start; its connections are closed', { proxy: this.context.proxyName, reason: describeError(err) });
    for (const { conn } of this.waiting.splice(0)) conn.destroy();
    return false;
  }
}
