import { AeadOpener, AeadSealer } from '../protocol/aead-stream.js';
import { CfbDecryptor, CfbEncryptor } from '../protocol/crypto.js';
import { WIRE_V1, WIRE_V2, type WireCodec } from '../protocol/wire-codec.js';
import { type V2CryptoContext, controlKeys } from '../protocol/wire-v2-hello.js';

/** How the control connection is framed and enciphered after LoginResp, one object per connection. */
export interface ControlCipher {
  readonly codec: WireCodec;
  /** our bytes to the wire (stateful: IV or stream nonce first) */
  seal(plaintext: Buffer): Buffer;
  /** wire bytes to plaintext, any chunking; throws on a bad record (v2) */
  open(ciphertext: Buffer): Buffer;
}

/** v1: frames inside AES-128-CFB with the PBKDF2 key of the token. */
export function v1ControlCipher(key: Buffer): ControlCipher {
  const encryptor = new CfbEncryptor(key);
  const decryptor = new CfbDecryptor(key);
  return { codec: WIRE_V1, seal: (p) => encryptor.update(p), open: (c) => decryptor.update(c) };
}

/** v2: v2 frames inside AEAD records, keys from the token and the hello transcript, one per direction. */
export function v2ControlCipher(token: string, ctx: V2CryptoContext, role: 'client' | 'server'): ControlCipher {
  const keys = controlKeys(token, ctx);
  const sealer = new AeadSealer(ctx.algorithm, role === 'client' ? keys.clientToServer : keys.serverToClient);
  const opener = new AeadOpener(ctx.algorithm, role === 'client' ? keys.serverToClient : keys.clientToServer);
  return { codec: WIRE_V2, seal: (p) => sealer.update(p), open: (c) => opener.update(c) };
}
