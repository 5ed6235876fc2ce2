import { Duplex } from 'node:stream';
import type { ServerChannel } from 'ssh2';

const EMPTY = Buffer.alloc(0);

/**
 * A forwarded-tcpip channel as a Duplex that can half-close. ssh2 closes a
 * server-side channel whole when its writable side ends, so a user who sends
 * a request and shuts down writing would never get the answer; here ending
 * the writable side sends SSH's EOF only, once the data before it is out,
 * and the channel closes when the ssh client closes it (or on destroy).
 */
export class ChannelStream extends Duplex {
  constructor(private readonly channel: ServerChannel) {
    super({ allowHalfOpen: true });
    channel.on('data', (chunk: Buffer) => {
      // Paused, ssh2 stops widening the SSH window: the ssh client stops sending.
      if (!this.push(chunk)) channel.pause();
    });
    channel.once('end', () => this.push(null));
    channel.once('error', (err: Error) => this.destroy(err));
    // After CLOSE nothing more can be sent either way.
    channel.once('close', () => this.destroy());
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    // ssh2 calls back once the chunk fitted the client's window: that is the back-pressure.
    this.channel.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    // An empty write completes after every earlier one, so EOF goes after the data.
    this.channel.write(EMPTY, () => {
      this.channel.eof();
      callback();
    });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.channel.destroy();
    callback(err);
  }
}
