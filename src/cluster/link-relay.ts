import type { Socket } from 'node:net';
import { relay } from '../relay/pipe.js';
import { hostPort } from '../util/address.js';
import { dialLink, type LinkKind } from './link-handshake.js';

/** How this node signs its links. */
export interface LinkSigner {
  readonly node: string;
  readonly secret: string;
  readonly tls: boolean;
}

/**
 * Carries user `visitor` to the node at `linkAddr` (`preface`, the bytes
 * already read from it, first) and relays until either side ends. Throws
 * when that node does not answer, with the visitor untouched, so the caller
 * may try another node or drop it.
 */
export async function relayOverLink(signer: LinkSigner, linkAddr: string, kind: LinkKind, target: string, visitor: Socket, preface: Buffer): Promise<void> {
  const link = await dialLink(
    linkAddr,
    signer.secret,
    { node: signer.node, kind, target, src: hostPort(visitor.remoteAddress, visitor.remotePort) },
    signer.tls,
  );
  link.on('error', () => {});
  if (visitor.destroyed) {
    link.destroy();
    return;
  }
  if (preface.length > 0) link.write(preface);
  await relay(visitor, link);
}
