import type { BandwidthBucket } from '../util/bandwidth-bucket.js';

/**
 * frp's per-proxy `useEncryption` / `useCompression` on a work or visitor
 * connection, applied after the plaintext StartWorkConn / NewVisitorConnResp.
 * A sender compresses first and then encrypts; a receiver undoes that in
 * reverse. Both peers of the hop must agree on the options. A type only, so
 * the vhost routes can carry it without depending on the proxies.
 */
export interface PayloadTransformOptions {
  /** 16-byte AES key from deriveCipherKey(token or sk); encryption is on when set */
  encryptionKey?: Buffer;
  compression?: boolean;
  /**
   * `bandwidthLimitMode = "server"`: the proxy's one bucket, drawn on by all
   * its work connections in both directions, outside the encryption and
   * compression (frps wraps the decrypted stream), so it counts payload bytes.
   */
  limiter?: BandwidthBucket;
}
