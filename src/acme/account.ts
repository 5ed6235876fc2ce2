import { Agent } from 'node:https';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type * as acme from 'acme-client';
import type { Logger } from '../util/logger.js';

/** Where the account key of a directory is kept: the ACME folder, or the cluster's Redis (shared by every node). */
export interface AccountKeys {
  accountKey(directoryUrl: string): Promise<string | undefined> | string | undefined;
  /** keeps `pem`; may resolve another key already in force (another node stored one first) */
  saveAccountKey(directoryUrl: string, pem: string): Promise<string> | string;
}

export interface AcmeAccountOptions {
  directoryUrl: string;
  /** the contact; empty = none */
  email: string;
  /** a CA file trusted, besides the system's, for the directory's own HTTPS */
  trustedCaFile: string;
}

/**
 * How often acme-client polls an authorization or order: from half a second,
 * doubling to 10 s, 12 times (about a minute and a half in all). Its default
 * (5 s first) adds seconds to every certificate a CA validates at once.
 */
const POLL = { backoffMin: 500, backoffMax: 10_000, backoffAttempts: 12 };

/**
 * The ACME client of the configured directory, with the account key from
 * storage (made and saved on first use) and the account registered (or
 * found again: a CA answers an existing key with its account). acme-client
 * signs every request; burrow never builds a JWS itself.
 */
export async function openAcmeAccount(storage: AccountKeys, opts: AcmeAccountOptions, log: Logger): Promise<acme.Client> {
  const lib = await loadAcmeClient();
  if (opts.trustedCaFile !== '') {
    // acme-client talks through one axios instance of its own: its agent is the only place to add a CA.
    // `ca` replaces the system roots, so they are given back beside the extra one.
    lib.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, readFileSync(opts.trustedCaFile, 'utf8')], keepAlive: true });
  }
  let accountKey = await storage.accountKey(opts.directoryUrl);
  if (accountKey === undefined) {
    const fresh = (await lib.crypto.createPrivateEcdsaKey('P-256')).toString('utf8');
    accountKey = await storage.saveAccountKey(opts.directoryUrl, fresh);
    if (accountKey === fresh) log.info('acme account key created', { directory: opts.directoryUrl });
  }
  const client = new lib.Client({ directoryUrl: opts.directoryUrl, accountKey, ...POLL });
  await client.createAccount({ termsOfServiceAgreed: true, ...(opts.email !== '' ? { contact: [`mailto:${opts.email}`] } : {}) });
  return client;
}

/**
 * acme-client (with axios and node-forge) is loaded on first use: a server
 * without acme.domains never pays its memory (tens of MiB of RSS).
 */
export function loadAcmeClient(): Promise<typeof acme> {
  return import('acme-client');
}
