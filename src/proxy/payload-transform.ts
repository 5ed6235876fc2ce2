import type { Duplex } from 'node:stream';
import { CfbDecryptor, CfbEncryptor } from '../protocol/crypto.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../protocol/snappy-frame.js';
import { wrapDuplex, type ByteTransform } from '../util/byte-transform-duplex.js';
import type { PayloadTransformOptions } from '../protocol/payload-options.js';
import { limitBandwidth } from '../relay/bandwidth-limit.js';

// The options are declared in protocol/ so vhost routes can carry them; the transforms live here.
export type { PayloadTransformOptions };

/** Applies PayloadTransformOptions: `stream` itself when no option is on, else a Duplex that applies them. */
export function wrapPayload(stream: Duplex, opts: PayloadTransformOptions): Duplex {
  const transform = payloadTransform(opts);
  const plain = transform ? wrapDuplex(stream, transform) : stream;
  return opts.limiter ? limitBandwidth(plain, opts.limiter) : plain;
}

/** The byte transform for `opts`, or undefined when the payload passes unchanged. */
export function payloadTransform(opts: PayloadTransformOptions): ByteTransform | undefined {
  const key = opts.encryptionKey;
  const compression = opts.compression === true;
  if (key === undefined && !compression) return undefined;
  if (key === undefined) {
    const encoder = new SnappyFrameEncoder();
    const decoder = new SnappyFrameDecoder();
    return { encode: (chunk) => encoder.encode(chunk), decode: (chunk) => decoder.decode(chunk) };
  }
  const encryptor = new CfbEncryptor(key);
  const decryptor = new CfbDecryptor(key);
  if (!compression) {
    return { encode: (chunk) => encryptor.update(chunk), decode: (chunk) => decryptor.update(chunk) };
  }
  const encoder = new SnappyFrameEncoder();
  const decoder = new SnappyFrameDecoder();
  return {
    encode: (chunk) => encryptor.update(encoder.encode(chunk)),
    decode: (chunk) => decoder.decode(decryptor.update(chunk)),
  };
}
