import { createSecureContext } from 'node:tls';
import type * as acme from 'acme-client';
import { loadAcmeClient } from './account.js';
import { BurrowError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { alpnAnswer, type ChallengeResponders } from './challenges.js';
import type { StoredCertificate } from './storage.js';

export type ChallengeType = 'http-01' | 'tls-alpn-01';

export interface OrderOptions {
  /** challenge types we can answer, in order of preference */
  challenges: readonly ChallengeType[];
  responders: ChallengeResponders;
  log: Logger;
}

/**
 * One certificate for one name, top to bottom: a fresh key and CSR, the
 * order, one challenge per pending authorization (answered through the
 * responders the vhosts read, removed again whatever happens), then
 * finalization and the chain. The caller bounds the whole with a timeout.
 */
export async function orderCertificate(client: acme.Client, name: string, opts: OrderOptions): Promise<StoredCertificate> {
  const lib = await loadAcmeClient();
  const [key, csr] = await lib.crypto.createCsr({ commonName: name, altNames: [name] }, await lib.crypto.createPrivateEcdsaKey('P-256'));
  const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
  for (const authz of await client.getAuthorizations(order)) {
    if (authz.status === 'valid') continue;
    const challenge = opts.challenges.map((t) => authz.challenges.find((c) => c.type === t)).find((c) => c !== undefined);
    if (!challenge) {
      throw new BurrowError(
        'BURROW_ACME_FAILED',
        `the CA offers ${authz.challenges.map((c) => c.type).join(', ') || 'no challenge'} for ${name}, none of ${opts.challenges.join(', ')}`,
      );
    }
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    let remove: () => void;
    let unpublish: () => void;
    if (challenge.type === 'http-01') {
      remove = opts.responders.setHttp01(challenge.token, keyAuthorization);
      unpublish = await opts.responders.publish('http-01', challenge.token, keyAuthorization);
    } else {
      const [alpnKey, alpnCert] = await lib.crypto.createAlpnCertificate(authz, keyAuthorization);
      remove = opts.responders.setTlsAlpn(name, createSecureContext({ key: alpnKey, cert: alpnCert }));
      unpublish = await opts.responders.publish('tls-alpn-01', name, alpnAnswer(alpnKey.toString('utf8'), alpnCert.toString('utf8')));
    }
    opts.log.debug('acme challenge ready', { name, challenge: challenge.type });
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } finally {
      remove();
      unpublish();
    }
  }
  const finalized = await client.finalizeOrder(order, csr);
  const chain = await client.getCertificate(finalized);
  return { chain, key: key.toString('utf8') };
}
