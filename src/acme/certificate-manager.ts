import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type * as acme from 'acme-client';
import { Backoff } from '../util/backoff.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { withTimeout } from '../util/timeout.js';
import { realTimers, type Timer, type Timers } from '../util/timers.js';
import { openAcmeAccount, type AccountKeys, type AcmeAccountOptions } from './account.js';
import type { ChallengeResponders } from './challenges.js';
import { acmeNameMatcher } from './names.js';
import { orderCertificate, type ChallengeType } from './order.js';
import type { SharedAcme } from './shared-store.js';
import { AcmeStorage, type StoredCertificate } from './storage.js';

export interface CertificateManagerOptions extends AcmeAccountOptions {
  storage: string;
  /** `acme.domains`: the only names ever ordered */
  domains: readonly string[];
  /** the challenge types that can be answered here, in order of preference */
  challenges: readonly ChallengeType[];
  renewBeforeDays: number;
  responders: ChallengeResponders;
  /** whether an http proxy still serves `name`: a name nobody routes any more is not renewed */
  isRouted(name: string): boolean;
  log: Logger;
  timers?: Timers;
  /** a cluster's Redis: one account, certificates ordered once for every node, an order lock per name */
  shared?: SharedAcme;
}

/** Where one name stands. A certificate already held keeps being served in every state until it expires. */
export enum CertState {
  /** waiting for one of the order slots */
  Queued = 'queued',
  Ordering = 'ordering',
  /** a certificate not yet due for renewal */
  Valid = 'valid',
  /** the last order failed: the next waits out the back-off */
  Failed = 'failed',
}

interface NameEntry {
  state: CertState;
  context?: SecureContext;
  notAfter?: number;
  serial?: string;
  readonly backoff: Backoff;
  retry?: Timer;
}

/** Orders under way at once: a CA's limits are per account, and each order holds a challenge open. */
const MAX_CONCURRENT_ORDERS = 2;
/** Names tracked at most: registrations choose them, so the table is bounded like every peer-made thing. */
const MAX_NAMES = 10_000;
/** One order, from its creation to the chain (acme-client's own polling gives up sooner). */
const ORDER_TIMEOUT_MS = 5 * 60_000;
/** How often certificates are checked against their renewal date. */
const RENEW_CHECK_MS = 12 * 3600_000;
/** After a failed order: 5 min, doubling to a day (Let's Encrypt allows 5 failed validations per name an hour). */
const FAILURE_BACKOFF = { firstMs: 5 * 60_000, maxMs: 24 * 3600_000 };
const DAY_MS = 24 * 3600_000;
/** While another node of the cluster orders a name: how often its certificate is looked for. */
const OTHER_NODE_POLL_MS = 2000;

/**
 * The certificates of the HTTPS vhost's terminated names: asked for a name
 * when an http proxy registers it (never blocking the registration), loads
 * a stored certificate or orders one, serves it to the vhost, renews it
 * `renewBeforeDays` before expiry, and backs off after failures per name.
 */
export class CertificateManager {
  private readonly entries = new Map<string, NameEntry>();
  private readonly queue: string[] = [];
  private ordering = 0;
  private readonly storage: AcmeStorage;
  private readonly matches: (name: string) => boolean;
  private readonly timers: Timers;
  private client: Promise<acme.Client> | undefined;
  private renewTimer: Timer | undefined;
  private stopped = false;

  constructor(private readonly opts: CertificateManagerOptions) {
    this.storage = new AcmeStorage(opts.storage);
    this.matches = acmeNameMatcher(opts.domains);
    this.timers = opts.timers ?? realTimers;
  }

  start(): void {
    this.renewTimer = this.timers.setInterval(() => this.checkRenewals(), RENEW_CHECK_MS);
    this.renewTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.renewTimer?.close();
    for (const e of this.entries.values()) e.retry?.close();
  }

  /** Whether `name` may ever get a certificate here (acme.domains). */
  covers(name: string): boolean {
    return this.matches(name);
  }

  /**
   * An http proxy serves `name`: make sure it has a certificate. Returns at
   * once; a name outside acme.domains is ignored.
   */
  want(name: string): void {
    const n = name.toLowerCase();
    if (this.stopped || !this.matches(n)) return;
    const known = this.entries.get(n);
    if (known) {
      // Failed while nobody routed it: registered again, it is tried again now.
      if (known.state === CertState.Failed && !known.retry) this.enqueue(n, known);
      // Not renewed while unrouted: due by now, it is renewed at once.
      else if (known.state === CertState.Valid && this.due(known)) this.enqueue(n, known);
      return;
    }
    if (this.entries.size >= MAX_NAMES) {
      this.opts.log.warn('acme: too many names, no certificate ordered', { name: n, limit: MAX_NAMES });
      return;
    }
    const entry: NameEntry = { state: CertState.Queued, backoff: new Backoff(FAILURE_BACKOFF.firstMs, FAILURE_BACKOFF.maxMs) };
    this.entries.set(n, entry);
    try {
      const stored = this.storage.certificate(n);
      if (stored) this.install(n, entry, stored);
    } catch (err) {
      this.opts.log.warn('acme: stored certificate unusable, ordering a new one', { name: n, reason: describeError(err) });
    }
    if (entry.context && !this.due(entry)) {
      entry.state = CertState.Valid;
      this.opts.log.info('acme: certificate loaded from storage', { name: n, serial: entry.serial, notAfter: new Date(entry.notAfter ?? 0).toISOString() });
      return;
    }
    this.enqueue(n, entry);
  }

  /** The certificate to terminate TLS for `name` with, while one is held and unexpired. */
  contextFor(name: string): SecureContext | undefined {
    const e = this.entries.get(name);
    return e?.context && (e.notAfter ?? 0) > this.timers.now() ? e.context : undefined;
  }

  /** Where `name` stands, for the status page and tests; undefined when it was never asked for. */
  status(name: string): { state: CertState; serial?: string; notAfter?: number } | undefined {
    const e = this.entries.get(name);
    return e && { state: e.state, serial: e.serial, notAfter: e.notAfter };
  }

  /** Queues every routed certificate that has come within renewBeforeDays of its expiry. */
  checkRenewals(): void {
    for (const [name, e] of this.entries) {
      if (e.state === CertState.Valid && this.due(e) && this.opts.isRouted(name)) {
        this.opts.log.info('acme: renewing certificate', { name, notAfter: new Date(e.notAfter ?? 0).toISOString() });
        this.enqueue(name, e);
      }
    }
  }

  private due(e: NameEntry): boolean {
    return (e.notAfter ?? 0) - this.opts.renewBeforeDays * DAY_MS <= this.timers.now();
  }

  private install(name: string, e: NameEntry, cert: StoredCertificate): void {
    const leaf = new X509Certificate(cert.chain);
    if (!leaf.checkHost(name)) throw new Error(`the certificate does not name ${name}`);
    e.context = createSecureContext({ cert: cert.chain, key: cert.key });
    e.notAfter = Date.parse(leaf.validTo);
    e.serial = leaf.serialNumber;
  }

  private enqueue(name: string, e: NameEntry): void {
    e.state = CertState.Queued;
    this.queue.push(name);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.ordering < MAX_CONCURRENT_ORDERS && this.queue.length > 0) {
      const name = this.queue.shift() as string;
      const e = this.entries.get(name);
      if (!e || e.state !== CertState.Queued) continue;
      this.ordering += 1;
      void this.order(name, e).finally(() => {
        this.ordering -= 1;
        this.pump();
      });
    }
  }

  private async order(name: string, e: NameEntry): Promise<void> {
    e.state = CertState.Ordering;
    let unlock: (() => void) | undefined;
    if (this.opts.shared) {
      const step = await this.fromCluster(this.opts.shared, name, e);
      if (step === 'loaded' || this.stopped) return;
      if (step === 'busy') {
        this.waitForOtherNode(name, e);
        return;
      }
      unlock = step;
    }
    try {
      await this.orderHere(name, e);
    } finally {
      unlock?.();
    }
  }

  /**
   * In a cluster, before ordering: the certificate another node stored, else
   * the name's order lock. 'loaded', 'busy' (another node orders it), the
   * lock's release, or undefined when Redis is away (ordered here alone: a
   * certificate twice is better than none).
   */
  private async fromCluster(shared: SharedAcme, name: string, e: NameEntry): Promise<'loaded' | 'busy' | (() => void) | undefined> {
    try {
      if (await this.loadShared(shared, name, e)) return 'loaded';
      const unlock = await shared.lockOrder(name);
      if (!unlock) return 'busy';
      // Another node may have stored it between the read and the lock.
      if (await this.loadShared(shared, name, e)) {
        unlock();
        return 'loaded';
      }
      return unlock;
    } catch (err) {
      this.opts.log.warn("acme: the cluster's certificates are unreachable; ordering from this node alone", { name, reason: describeError(err) });
      return undefined;
    }
  }

  private async loadShared(shared: SharedAcme, name: string, e: NameEntry): Promise<boolean> {
    const cert = await shared.certificate(name);
    if (!cert) return false;
    try {
      this.install(name, e, cert);
    } catch (err) {
      this.opts.log.warn("acme: the cluster's certificate is unusable", { name, reason: describeError(err) });
      return false;
    }
    if (this.due(e)) return false;
    e.state = CertState.Valid;
    e.backoff.reset();
    try {
      // A copy in the node's own folder, for a start while Redis is away.
      this.storage.saveCertificate(name, cert);
    } catch {}
    this.opts.log.info('acme: certificate loaded from the cluster', { name, serial: e.serial, notAfter: new Date(e.notAfter ?? 0).toISOString() });
    return true;
  }

  /** Another node holds the order lock: its certificate is looked for again shortly (the lock dies with that node's order). */
  private waitForOtherNode(name: string, e: NameEntry): void {
    e.state = CertState.Queued;
    this.opts.log.info('acme: another node of the cluster is ordering this name; waiting for its certificate', { name });
    e.retry = this.timers.setTimeout(() => {
      e.retry = undefined;
      if (!this.stopped && e.state === CertState.Queued) this.enqueue(name, e);
    }, OTHER_NODE_POLL_MS);
    e.retry.unref();
  }

  private async orderHere(name: string, e: NameEntry): Promise<void> {
    const started = this.timers.now();
    this.opts.log.info('acme: ordering certificate', { name });
    try {
      const client = await this.account();
      const cert = await withTimeout(
        orderCertificate(client, name, { challenges: this.opts.challenges, responders: this.opts.responders, log: this.opts.log }),
        ORDER_TIMEOUT_MS,
        `acme order for ${name}`,
      );
      if (this.stopped) return;
      this.storage.saveCertificate(name, cert);
      this.install(name, e, cert);
      await this.opts.shared?.saveCertificate(name, cert, e.notAfter ?? 0).catch((err: unknown) => {
        this.opts.log.warn('acme: certificate not shared with the cluster; the other nodes will order their own', { name, reason: describeError(err) });
      });
      e.state = CertState.Valid;
      e.backoff.reset();
      this.opts.log.info('acme: certificate obtained', { name, serial: e.serial, ms: this.timers.now() - started });
    } catch (err) {
      if (this.stopped) return;
      e.state = CertState.Failed;
      const delay = e.backoff.next();
      this.opts.log.warn('acme: order failed; plain HTTP keeps working', { name, reason: describeError(err), retryInSeconds: Math.round(delay / 1000) });
      e.retry = this.timers.setTimeout(() => {
        e.retry = undefined;
        if (this.stopped || e.state !== CertState.Failed) return;
        if (this.opts.isRouted(name)) this.enqueue(name, e);
        // Nobody serves it any more: forgotten, so a later registration asks afresh.
        else if (!e.context) this.entries.delete(name);
      }, delay);
      e.retry.unref();
    }
  }

  /** The account, opened once; a failure (the CA unreachable) is retried by the next order. */
  private account(): Promise<acme.Client> {
    if (!this.client) {
      const opening = openAcmeAccount(this.accountKeys(), this.opts, this.opts.log);
      opening.catch(() => {
        if (this.client === opening) this.client = undefined;
      });
      this.client = opening;
    }
    return this.client;
  }

  /** The cluster's account key (one account for every node) when there is a cluster, the folder's when Redis is away or there is none. */
  private accountKeys(): AccountKeys {
    const shared = this.opts.shared;
    if (!shared) return this.storage;
    const local = this.storage;
    const log = this.opts.log;
    return {
      async accountKey(directoryUrl) {
        try {
          return await shared.accountKey(directoryUrl);
        } catch (err) {
          log.warn("acme: the cluster's account key is unreachable; using this node's own", { reason: describeError(err) });
          return local.accountKey(directoryUrl);
        }
      },
      async saveAccountKey(directoryUrl, pem) {
        try {
          return await shared.saveAccountKey(directoryUrl, pem);
        } catch {
          local.saveAccountKey(directoryUrl, pem);
          return pem;
        }
      },
    };
  }
}
