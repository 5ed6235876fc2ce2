import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { BurrowError } from '../util/errors.js';
import { AEAD_ALGORITHMS, AEAD_KEY_LENGTH, type AeadAlgorithm, isAeadAlgorithm } from './aead-stream.js';

/**
 * The v2 hello exchange's payloads and the key schedule that follows from
 * them. Pure: the exchange itself (who writes when, the timeout) lives with
 * the login code of each side.
 */

export const CRYPTO_RANDOM_LENGTH = 32;

/** What the client says about its connection; frp omits false and empty members. */
export interface HelloBootstrap {
  readonly transport: string;
  readonly tls: boolean;
  readonly tcpMux: boolean;
}

/** What both ends agreed, to derive the control keys from. */
export interface V2CryptoContext {
  readonly algorithm: AeadAlgorithm;
  /** SHA-256 over both hello payloads as sent */
  readonly transcript: Buffer;
}

/** The ClientHello payload, keys in the reference's order. We prefer AES-GCM (Node has AES instructions where frp's Go would). */
export function encodeClientHello(bootstrap: HelloBootstrap, clientRandom: Buffer = randomBytes(CRYPTO_RANDOM_LENGTH)): Buffer {
  const boot: Record<string, unknown> = {};
  if (bootstrap.transport) boot.transport = bootstrap.transport;
  if (bootstrap.tls) boot.tls = true;
  if (bootstrap.tcpMux) boot.tcpMux = true;
  return Buffer.from(
    JSON.stringify({
      bootstrap: boot,
      capabilities: { message: { codecs: ['json'] }, crypto: { algorithms: AEAD_ALGORITHMS, clientRandom: clientRandom.toString('base64') } },
    }),
  );
}

/** The outcome of the server reading a ClientHello: the answer to send, and the agreed algorithm or the refusal. */
export type ServerHelloAnswer =
  | { readonly ok: true; readonly payload: Buffer; readonly algorithm: AeadAlgorithm }
  | { readonly ok: false; readonly payload: Buffer; readonly error: string };

/**
 * Reads a ClientHello and builds the ServerHello. Unparseable JSON throws (frp
 * then closes without an answer); a hello it understands but cannot accept
 * gets a ServerHello carrying `error`, as frp's does.
 */
export function answerClientHello(payload: Buffer, serverRandom: Buffer = randomBytes(CRYPTO_RANDOM_LENGTH)): ServerHelloAnswer {
  let hello: unknown;
  try {
    hello = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new BurrowError('BURROW_BAD_FRAME', 'decode ClientHello: not valid JSON');
  }
  const caps = field(field(hello, 'capabilities'), 'message');
  const crypto = field(field(hello, 'capabilities'), 'crypto');
  const refuse = (error: string): ServerHelloAnswer => ({
    ok: false,
    error,
    payload: Buffer.from(JSON.stringify({ selected: { message: { codec: 'json' }, crypto: {} }, error })),
  });
  const codecs = field(caps, 'codecs');
  if (!Array.isArray(codecs) || !codecs.includes('json')) return refuse('unsupported message codec');
  const random = decodeRandom(field(crypto, 'clientRandom'));
  if (random.length !== CRYPTO_RANDOM_LENGTH) {
    return refuse(`invalid crypto client random length ${random.length}, want ${CRYPTO_RANDOM_LENGTH}`);
  }
  const offered = field(crypto, 'algorithms');
  // The first the client lists that we support: the client's preference wins, as in frp.
  const algorithm = Array.isArray(offered) ? offered.find(isAeadAlgorithm) : undefined;
  if (algorithm === undefined) return refuse('no supported crypto algorithm');
  return {
    ok: true,
    algorithm,
    payload: Buffer.from(JSON.stringify({ selected: { message: { codec: 'json' }, crypto: { algorithm, serverRandom: serverRandom.toString('base64') } } })),
  };
}

/** The client's check of the ServerHello against its own hello; BURROW_LOGIN_FAILED with frp's reasons. */
export function acceptServerHello(clientHello: Buffer, serverHello: Buffer): V2CryptoContext {
  let hello: unknown;
  try {
    hello = JSON.parse(serverHello.toString('utf8'));
  } catch {
    throw new BurrowError('BURROW_LOGIN_FAILED', 'decode ServerHello: not valid JSON');
  }
  const error = field(hello, 'error');
  if (typeof error === 'string' && error !== '') throw new BurrowError('BURROW_LOGIN_FAILED', `server refused the v2 hello: ${error}`);
  const selected = field(hello, 'selected');
  const codec = field(field(selected, 'message'), 'codec');
  if (codec !== 'json') throw new BurrowError('BURROW_LOGIN_FAILED', `unsupported selected message codec: ${String(codec)}`);
  const crypto = field(selected, 'crypto');
  const algorithm = field(crypto, 'algorithm');
  if (!isAeadAlgorithm(algorithm)) throw new BurrowError('BURROW_LOGIN_FAILED', `unknown selected crypto algorithm: ${String(algorithm)}`);
  const offered = field(field(field(JSON.parse(clientHello.toString('utf8')), 'capabilities'), 'crypto'), 'algorithms');
  if (!Array.isArray(offered) || !offered.includes(algorithm)) {
    throw new BurrowError('BURROW_LOGIN_FAILED', `selected crypto algorithm was not advertised by client: ${algorithm}`);
  }
  const random = decodeRandom(field(crypto, 'serverRandom'));
  if (random.length !== CRYPTO_RANDOM_LENGTH) {
    throw new BurrowError('BURROW_LOGIN_FAILED', `invalid crypto server random length ${random.length}, want ${CRYPTO_RANDOM_LENGTH}`);
  }
  return { algorithm, transcript: helloTranscript(clientHello, serverHello) };
}

const TRANSCRIPT_LABEL = 'frp wire v2 crypto transcript';

/** SHA-256(label || 0 "client hello" 0 u64be(len) CH || 0 "server hello" 0 u64be(len) SH). */
export function helloTranscript(clientHello: Buffer, serverHello: Buffer): Buffer {
  const h = createHash('sha256');
  h.update(TRANSCRIPT_LABEL);
  for (const [label, payload] of [
    ['client hello', clientHello],
    ['server hello', serverHello],
  ] as const) {
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(payload.length));
    h.update(Buffer.from([0]));
    h.update(label);
    h.update(Buffer.from([0]));
    h.update(length);
    h.update(payload);
  }
  return h.digest();
}

/** The two control keys: HKDF-SHA256(token, salt = transcript, info = "frp wire v2 control aead <alg> <direction>"). */
export function controlKeys(token: string, ctx: V2CryptoContext): { clientToServer: Buffer; serverToClient: Buffer } {
  const derive = (direction: string): Buffer =>
    Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), ctx.transcript, `frp wire v2 control aead ${ctx.algorithm} ${direction}`, AEAD_KEY_LENGTH));
  return { clientToServer: derive('client-to-server'), serverToClient: derive('server-to-client') };
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
}

/** Go decodes []byte from padded standard base64 and refuses anything else; so do we (a wrong length then shows). */
function decodeRandom(v: unknown): Buffer {
  if (typeof v !== 'string' || v.length > 256) return Buffer.alloc(0);
  const bytes = Buffer.from(v, 'base64');
  return bytes.toString('base64') === v ? bytes : Buffer.alloc(0);
}
