import type { Duplex } from 'node:stream';
import type { VisitorConfig } from '../../config/types.js';
import { expectMessage, writeMessage } from '../../control/message-io.js';
import { wireOf } from '../../control/wire-mark.js';
import type { WireProtocol } from '../../protocol/wire-codec.js';
import { tokenDigest } from '../../protocol/auth.js';
import { deriveCipherKey } from '../../protocol/crypto.js';
import { BurrowError } from '../../util/errors.js';
import { withTimeout } from '../../util/timeout.js';
import type { VisitorLink } from '../client-context.js';
import { wrapPayload } from '../payload-transform.js';
import { BURROW_FEATURES } from '../../protocol/burrow-features.js';

/** frp: a visitor waits at most 10 s for NewVisitorConnResp. */
export const VISITOR_ANSWER_TIMEOUT_MS = 10_000;

/** The wire name of the proxy a visitor reaches: `serverUser` (or our own user) + "." + serverName. */
export function visitedProxyName(v: VisitorConfig, ownUser: string): string {
  const owner = v.serverUser || ownUser;
  return owner ? `${owner}.${v.serverName}` : v.serverName;
}

/** The per-connection key of a visitor hop: the proxy's secret key (frp derives it like the token's). */
export function visitorCipherKey(v: VisitorConfig): Buffer | undefined {
  return v.transport.useEncryption ? deriveCipherKey(v.secretKey) : undefined;
}

/**
 * One visitor connection: a new logical connection, NewVisitorConn signed
 * with md5(sk + now), the server's answer, then the visitor hop's transforms.
 * The whole exchange is bounded by VISITOR_ANSWER_TIMEOUT_MS; a refusal
 * rejects with BURROW_VISITOR_REFUSED and the server's reason.
 */
export async function openVisitorConn(link: VisitorLink, v: VisitorConfig, key: Buffer | undefined): Promise<Duplex> {
  return (await openVisitorConnWithAnswer(link, v, key)).stream;
}

/**
 * openVisitorConn, with what the server's answer says the proxy's owner can
 * read beyond frp (`burrow_features`; empty from a stock frps or for a stock
 * frpc owner).
 */
export async function openVisitorConnWithAnswer(
  link: VisitorLink,
  v: VisitorConfig,
  key: Buffer | undefined,
): Promise<{ stream: Duplex; ownerFeatures: readonly string[]; wire: WireProtocol }> {
  const proxyName = visitedProxyName(v, link.user);
  const stream = await link.openStream();
  stream.on('error', () => {});
  let ownerFeatures: readonly string[] = [];
  try {
    const resp = await withTimeout(
      (async () => {
        const timestamp = Math.floor(Date.now() / 1000);
        await writeMessage(stream, {
          type: 'NewVisitorConn',
          body: {
            run_id: link.runId,
            proxy_name: proxyName,
            sign_key: tokenDigest(v.secretKey, timestamp),
            timestamp,
            use_encryption: v.transport.useEncryption,
            use_compression: v.transport.useCompression,
            // burrow's own key (stock frp ignores it): this visitor reads whole datagrams (sudp).
            burrow_features: [BURROW_FEATURES.wholeDatagrams],
          },
        });
        return expectMessage(stream, 'NewVisitorConnResp', VISITOR_ANSWER_TIMEOUT_MS);
      })(),
      VISITOR_ANSWER_TIMEOUT_MS,
      'NewVisitorConnResp',
    );
    if (resp.error) throw new BurrowError('BURROW_VISITOR_REFUSED', `the server refused visitor "${v.name}" for proxy "${proxyName}": ${resp.error}`);
    ownerFeatures = resp.burrow_features ?? [];
  } catch (err) {
    stream.destroy();
    throw err;
  }
  // The framing of the raw connection (the transforms on top hide it): a sudp stream's UDPPackets follow it.
  const wire = wireOf(stream);
  return { stream: wrapPayload(stream, { encryptionKey: key, compression: v.transport.useCompression }), ownerFeatures, wire };
}
