import type { Connection, ServerChannel } from 'ssh2';
import { MAX_COMMAND_LENGTH } from './command-line.js';

/** What an ssh client asked for: its first `-R` forward and the command of its session. */
export interface TunnelRequest {
  /** the address and port of the `-R` request, echoed in each forwarded-tcpip channel so OpenSSH finds its target */
  forward: { address: string; port: number };
  command: string;
  /** no command was given (`ssh -R … host`): the session asked for a shell */
  shell: boolean;
}

/**
 * Collects from one SSH connection what a tunnel needs, in whatever order it
 * comes: the first `tcpip-forward` global request and the first session with
 * an exec (or shell) request. `ready` resolves when both have arrived. As
 * frp, only the first forward is used; unlike frp, later ones are refused
 * (so ssh warns) and a second session is refused. The session channel is
 * where the user reads what happened.
 */
export class TunnelRequests {
  readonly ready: Promise<TunnelRequest>;
  private forward: TunnelRequest['forward'] | undefined;
  private command: { line: string; shell: boolean } | undefined;
  private channel: ServerChannel | undefined;
  private hasSession = false;
  /** the client asked for a terminal: its line ends need a carriage return */
  private pty = false;
  private resolve: (r: TunnelRequest) => void = () => {};
  private reject: (err: Error) => void = () => {};

  constructor(conn: Connection) {
    this.ready = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Nobody may be waiting yet (the connection can close before its login).
    this.ready.catch(() => {});
    conn.on('request', (accept, reject, name, info) => {
      if (name === 'cancel-tcpip-forward') return accept?.();
      if (name !== 'tcpip-forward' || this.forward) return reject?.();
      this.forward = { address: info.bindAddr, port: info.bindPort };
      // OpenSSH needs a port in the answer to `-R 0:…`; the tunnel's public address is printed instead.
      accept?.(info.bindPort === 0 ? 0 : undefined);
      this.check();
    });
    conn.on('session', (accept, reject) => {
      if (this.hasSession) return reject();
      this.hasSession = true;
      const session = accept();
      session.on('pty', (acceptPty) => {
        this.pty = true;
        acceptPty?.();
      });
      session.on('exec', (acceptExec, _reject, info) => this.commandArrived(acceptExec(), info.command, false));
      session.on('shell', (acceptShell) => this.commandArrived(acceptShell(), '', true));
    });
  }

  /** The connection closed: a wait for the requests ends now rather than at its timeout. */
  cancel(): void {
    this.reject(new Error('the ssh connection closed'));
  }

  /** Writes `text` on the session channel. */
  write(text: string): void {
    const channel = this.channel;
    if (!channel || channel.destroyed || !channel.writable) return;
    const out = `${text}\n`;
    channel.write(this.pty ? out.replace(/\r?\n/g, '\r\n') : out);
  }

  /**
   * Writes `text`, then ends the session with `exitCode`. Resolves when the
   * ssh client has closed the channel (it prints the text first), or after
   * `graceMs` for a client that does not.
   */
  async endSession(text: string, exitCode: number, graceMs: number): Promise<void> {
    const channel = this.channel;
    if (!channel || channel.destroyed || !channel.writable) return;
    this.write(text);
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      channel.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    channel.exit(exitCode);
    channel.end();
    await closed;
  }

  private commandArrived(channel: ServerChannel | undefined, line: string, shell: boolean): void {
    if (this.command) return;
    if (channel) {
      this.channel = channel;
      channel.on('error', () => {});
      // The user's keystrokes (a terminal session) are read and dropped, so the window never fills.
      channel.on('data', () => {});
    }
    // Longer ones are refused by the parser; do not keep more than it reads.
    this.command = { line: line.slice(0, MAX_COMMAND_LENGTH + 1), shell };
    this.check();
  }

  private check(): void {
    if (this.forward && this.command) this.resolve({ forward: this.forward, command: this.command.line, shell: this.command.shell });
  }
}
