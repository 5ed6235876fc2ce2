import { randomBytes } from 'node:crypto';

/** frp's transaction ids: Unix seconds followed by 16 random hex characters. */
export function newTransactionId(): string {
  return `${Math.floor(Date.now() / 1000)}${randomBytes(8).toString('hex')}`;
}
