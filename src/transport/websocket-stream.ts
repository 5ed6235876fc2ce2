/**
 * An open WebSocket as a Node Duplex carrying a byte stream, with
 * back-pressure both ways: a full socket holds writes until 'drain', a full
 * readable buffer pauses the WebSocket (and so its socket).
 *
 * A WebSocket has no half-close. end() sends a Close frame after the data
 * already written; the peer sees the end of the stream. The peer library may
 * answer with its own Close at once, after which nothing more can be sent,
 * so a connection that needs half-close should run under yamux (tcpMux).
 */
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { BurrowError, describeError } from '../util/errors.js';
import { RELAY_HIGH_WATER_MARK } from '../util/socket-buffers.js';

/**
 * Writes larger than this go out as several frames, so the peer never needs
 * to buffer a huge frame whole before delivering any of it.
 */
const MAX_FRAME = 256 * 1024;
const NORMAL_CLOSURE = 1000;

export class WebSocketStream extends Duplex {
  private closedByPeer = false;

  /** `socket` is the stream under the WebSocket, watched for 'drain'. */
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: RELAY_HIGH_WATER_MARK, writableHighWaterMark: RELAY_HIGH_WATER_MARK });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      // frp's Go side sends text frames holding binary bytes; the type does not matter here.
      const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (!this.push(chunk)) ws.pause();
    });
    ws.once('close', () => {
      this.closedByPeer = true;
      this.push(null);
      // Nothing more can travel either way; close once the reader has what arrived.
      if (this.readableEnded) this.destroy();
      else this.once('end', () => this.destroy());
    });
    ws.on('error', (err: Error) => {
      this.destroy(new BurrowError('BURROW_WEBSOCKET', `websocket failed: ${describeError(err)}`, { cause: err }));
    });
  }

  override _read(): void {
    this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.closedByPeer || this.ws.readyState !== this.ws.OPEN) {
      callback(new BurrowError('BURROW_CLOSED', 'the websocket is closed'));
      return;
    }
    for (let at = 0; at < chunk.length; at += MAX_FRAME) {
      this.ws.send(chunk.subarray(at, at + MAX_FRAME), { binary: true, compress: false });
    }
    if (!this.socket.writableNeedDrain) {
      callback();
      return;
    }
    const settle = (): void => {
      this.socket.off('drain', settle);
      this.socket.off('close', settle);
      callback();
    };
    this.socket.on('drain', settle);
    this.socket.on('close', settle);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(NORMAL_CLOSURE);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.ws.terminate();
    callback(err);
  }
}
