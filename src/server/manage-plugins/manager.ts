import { randomBytes } from 'node:crypto';
import type { HttpPluginSettings } from '../../config/types.js';
import { decodeBodyValue } from '../../protocol/message-body.js';
import type { Login, MessageBodies, NewProxy, NewWorkConn, Ping } from '../../protocol/messages.js';
import { BurrowError, describeError } from '../../util/errors.js';
import type { Logger } from '../../util/logger.js';
import { clipped } from '../../util/peer-string.js';
import { HttpManagePlugin } from './http-plugin.js';
import { type LoginContent, MANAGE_OPS, type ManageOp, type NewUserConnContent, type PluginUserInfo } from './types.js';

/** The message each changeable operation carries, and so the schema a plugin's changed content is checked against. */
const MESSAGE_OF = { Login: 'Login', NewProxy: 'NewProxy', Ping: 'Ping', NewWorkConn: 'NewWorkConn' } as const;
type MutableOp = keyof typeof MESSAGE_OF;
/** A rejection reason goes back to the client inside one frame (10240 bytes at most): longer ones are cut. */
const MAX_REASON_CHARS = 1024;

/**
 * Runs each operation through the plugins subscribed to it, in the order of
 * the config, as frps does: the first rejection or failure stops the chain;
 * a plugin's changed content is what the next plugin sees and what the
 * server carries on with. An operation no plugin subscribed to costs
 * nothing: callers ask `has(op)` first and skip the await.
 */
export class ManagePlugins {
  private readonly byOp = new Map<ManageOp, HttpManagePlugin[]>();
  private readonly all: HttpManagePlugin[];

  constructor(
    settings: readonly HttpPluginSettings[],
    timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.all = settings.map((s) => new HttpManagePlugin(s, timeoutMs));
    for (const op of MANAGE_OPS) {
      const subscribed = this.all.filter((p) => p.ops.has(op));
      if (subscribed.length > 0) this.byOp.set(op, subscribed);
    }
    for (const p of this.all) log.info(`plugin [${p.name}] has been registered`, { url: p.url, ops: [...p.ops].join(',') });
  }

  has(op: ManageOp): boolean {
    return this.byOp.has(op);
  }

  /** The Login to go on with (the plugins may change any of its fields); throws with the reason on a refusal. */
  login(content: LoginContent): Promise<Login> {
    const { client_address, ...login } = content;
    return this.mutable('Login', login, { client_address });
  }

  newProxy(user: PluginUserInfo, msg: NewProxy): Promise<NewProxy> {
    return this.mutable('NewProxy', msg, { user });
  }

  ping(user: PluginUserInfo, msg: Ping): Promise<Ping> {
    return this.mutable('Ping', msg, { user });
  }

  newWorkConn(user: PluginUserInfo, msg: NewWorkConn): Promise<NewWorkConn> {
    return this.mutable('NewWorkConn', msg, { user });
  }

  /** Resolves when every plugin admits the connection; frp ignores changed content here, and so do we. */
  async newUserConn(content: NewUserConnContent): Promise<void> {
    await this.run('NewUserConn', content, () => content, 'info');
  }

  /** Tells the plugins a proxy has closed; nothing waits for it and a failure is only logged (as frp). */
  closeProxy(user: PluginUserInfo, proxyName: string): void {
    const plugins = this.byOp.get('CloseProxy');
    if (!plugins) return;
    const reqId = newReqId();
    for (const p of plugins) {
      p.call('CloseProxy', { user, proxy_name: proxyName }, reqId).catch((err: unknown) => {
        this.log.warn(`send CloseProxy request to plugin [${p.name}] error: ${describeError(err)}`, { reqid: reqId });
      });
    }
  }

  close(): void {
    for (const p of this.all) p.close();
  }

  /** A changeable operation: the message fields go out beside `extra` (user, client_address), and come back checked. */
  private async mutable<Op extends MutableOp>(
    op: Op,
    msg: MessageBodies[(typeof MESSAGE_OF)[Op]],
    extra: object,
  ): Promise<MessageBodies[(typeof MESSAGE_OF)[Op]]> {
    const type = MESSAGE_OF[op];
    const out = await this.run(op, { ...extra, ...msg }, (changed) => ({ ...extra, ...decodeBodyValue(type, changed).body }));
    // `extra` is ours, not part of the message: drop it again.
    const body: Record<string, unknown> = { ...out };
    for (const k of Object.keys(extra)) delete body[k];
    // A plugin written against frp's structs re-encodes only frp's fields, so its changed content lacks
    // burrow's own (burrow_sso, burrow_allow_ips, ...): dropping them would open a proxy meant to sit
    // behind a login or an IP list. What a plugin leaves out is carried over; what it sets is kept.
    for (const [k, v] of Object.entries(msg)) {
      if (k.startsWith('burrow_') && body[k] === undefined) body[k] = v;
    }
    return body as MessageBodies[(typeof MESSAGE_OF)[Op]];
  }

  /**
   * One operation through its plugins, one request id for all of them.
   * Throws BURROW_PLUGIN_REJECTED with the plugin's reason, or
   * BURROW_PLUGIN_FAILED with frp's text when a plugin could not be asked
   * (its own error is logged, not sent to the client).
   */
  private async run(op: ManageOp, content: object, accept: (changed: unknown) => object, logLevel: 'warn' | 'info' = 'warn'): Promise<object> {
    const plugins = this.byOp.get(op) ?? [];
    const reqId = newReqId();
    let current = content;
    for (const p of plugins) {
      let next: object;
      try {
        const answer = await p.call(op, current, reqId);
        if (answer.reject) {
          // An empty reason would read as success to frpc (an empty `error`): say who refused instead.
          throw new BurrowError('BURROW_PLUGIN_REJECTED', clipped(answer.rejectReason, MAX_REASON_CHARS) || `rejected by server plugin "${p.name}"`);
        }
        if (answer.unchange) continue;
        if (answer.content === undefined) throw new BurrowError('BURROW_PLUGIN_FAILED', 'answer has neither unchange nor content');
        next = accept(answer.content);
      } catch (err) {
        if (err instanceof BurrowError && err.code === 'BURROW_PLUGIN_REJECTED') throw err;
        this.log[logLevel](`send ${op} request to plugin [${p.name}] error: ${clipped(describeError(err))}`, { reqid: reqId });
        throw new BurrowError('BURROW_PLUGIN_FAILED', `send ${op} request to plugin error`, { cause: err });
      }
      current = next;
    }
    return current;
  }
}

/** frp's request id: 8 random bytes in hex, the same for every plugin asked about one operation. */
function newReqId(): string {
  return randomBytes(8).toString('hex');
}
