import type { VisitorConfig } from '../config/types.js';
import type { VisitorLink } from '../proxy/client-context.js';
import { createVisitor } from '../proxy/client-registry.js';
import { VisitorState, type ClientVisitor } from '../proxy/types.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export interface VisitorStatus {
  readonly name: string;
  readonly type: string;
  readonly state: VisitorState;
  readonly err: string;
  /** where local users connect; empty without a listener */
  readonly bindAddr: string;
}

interface Entry {
  readonly config: VisitorConfig;
  readonly visitor: ClientVisitor | undefined;
  err: string;
}

/**
 * The client's visitors: started once the client has logged in (they open
 * visitor connections through whatever session is current), stopped with
 * the client, and diffed on reload like proxies.
 */
export class VisitorSet {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly link: VisitorLink,
    private readonly log: Logger,
  ) {}

  get(name: string): ClientVisitor | undefined {
    return this.entries.get(name)?.visitor;
  }

  get statuses(): VisitorStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.config.name,
      type: e.config.type,
      state: e.visitor?.state ?? VisitorState.Failed,
      err: e.err,
      bindAddr: e.visitor && e.visitor.port > 0 ? `${e.config.bindAddr}:${e.visitor.port}` : '',
    }));
  }

  /** Starts every visitor; one that cannot start is logged and reported, the others run. */
  async start(configs: readonly VisitorConfig[]): Promise<void> {
    // stcp first, so an xtcp visitor's fallback is listening before it is.
    await Promise.all(configs.filter((c) => c.type !== 'xtcp').map((c) => this.startOne(c)));
    await Promise.all(configs.filter((c) => c.type === 'xtcp').map((c) => this.startOne(c)));
  }

  /**
   * Applies a re-read visitor list: removed and changed visitors stop, new
   * and changed ones start (in the background; failures are logged and show
   * in the status). Returns what changed.
   */
  reload(configs: readonly VisitorConfig[]): { added: string[]; removed: string[]; changed: string[] } {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const diff = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const [name, e] of [...this.entries]) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(e.config)) continue;
      e.visitor?.close();
      this.entries.delete(name);
      (next ? diff.changed : diff.removed).push(name);
    }
    const starting: VisitorConfig[] = [];
    for (const [name, c] of wanted) {
      if (this.entries.has(name)) continue;
      if (!diff.changed.includes(name)) diff.added.push(name);
      starting.push(c);
    }
    void this.start(starting);
    return diff;
  }

  stop(): void {
    for (const e of this.entries.values()) e.visitor?.close();
    this.entries.clear();
  }

  private async startOne(config: VisitorConfig): Promise<void> {
    const log = this.log.child({ visitor: config.name });
    // A visitor plugin (frp's virtual_net) routes IP packets through a TUN device; as the proxy plugin, refused at start.
    const visitor = config.plugin ? undefined : this.create(config, log);
    const entry: Entry = { config, visitor, err: '' };
    this.entries.set(config.name, entry);
    if (!visitor) {
      entry.err = config.plugin
        ? `plugin.type "${config.plugin.type}" is not supported: it needs a TUN device (frp's virtual network), which burrow does not create`
        : `visitor type "${config.type}" is not supported by burrow yet`;
      this.log.warn('visitor not started', { visitor: config.name, reason: entry.err });
      return;
    }
    try {
      await visitor.start();
    } catch (err) {
      entry.err = describeError(err);
      this.log.warn('visitor not started', { visitor: config.name, reason: entry.err });
    }
  }

  private create(config: VisitorConfig, log: Logger): ClientVisitor | undefined {
    return createVisitor(config, { link: this.link, log, find: (name) => this.get(name) });
  }
}
