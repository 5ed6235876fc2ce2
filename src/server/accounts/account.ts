import type { PortRange, UserAccountConfig } from '../../config/types.js';
import { domainGlob, expiryInstant, trafficBytes } from '../../config/account-terms.js';
import { bandwidthBytes } from '../../protocol/bandwidth-quantity.js';
import { deriveCipherKey } from '../../protocol/crypto.js';
import { BandwidthLimiter } from '../../relay/bandwidth-limit.js';

/**
 * One `[[users]]` entry as the server uses it: the token a login is checked
 * against (and the cipher key derived from it, as a stock frpc derives it
 * from its own token), the limits, and the live count of the user's
 * connections. The bandwidth bucket is one per account, so every proxy of
 * every client of the user draws from it.
 */
export class Account {
  readonly name: string;
  readonly token: string;
  /** the control channel's and `useEncryption` work connections' AES key */
  readonly cipherKey: Buffer;
  readonly allowPorts: readonly PortRange[];
  readonly allowDomains: readonly string[];
  private readonly domainMatchers: readonly RegExp[];
  readonly maxProxies: number;
  readonly maxConnections: number;
  readonly limiter: BandwidthLimiter | undefined;
  /** bytes per period; 0 = none */
  readonly quotaBytes: number;
  readonly quotaResetDay: number;
  /** ms since the epoch past which the account is expired; undefined = never */
  readonly expiresAt: number | undefined;
  /** what the config said, token included: a reload that changes any of it revokes the account's sessions */
  readonly signature: string;
  /** user connections open now over all of the user's proxies */
  openConnections = 0;

  /** `token` is the resolved one (tokenFile read by the caller); values were checked at load. */
  constructor(
    readonly config: UserAccountConfig,
    token: string,
  ) {
    this.name = config.name;
    this.token = token;
    this.cipherKey = deriveCipherKey(token);
    this.allowPorts = config.allowPorts;
    this.allowDomains = config.allowDomains;
    this.domainMatchers = config.allowDomains.map(domainGlob);
    this.maxProxies = config.maxProxies;
    this.maxConnections = config.maxConnections;
    const bytesPerSecond = bandwidthBytes(config.bandwidthLimit);
    this.limiter = bytesPerSecond > 0 ? new BandwidthLimiter(bytesPerSecond) : undefined;
    this.quotaBytes = trafficBytes(config.trafficQuota);
    this.quotaResetDay = config.quotaResetDay;
    this.expiresAt = expiryInstant(config.expires);
    this.signature = JSON.stringify({ ...config, token });
  }

  expired(now: number): boolean {
    return this.expiresAt !== undefined && now >= this.expiresAt;
  }

  /** Whether a public domain may be routed by this user (no list = any). */
  domainAllowed(domain: string): boolean {
    return this.domainMatchers.length === 0 || this.domainMatchers.some((m) => m.test(domain.toLowerCase()));
  }

  portAllowed(port: number): boolean {
    return this.allowPorts.length === 0 || this.allowPorts.some((r) => port >= r.start && port <= r.end);
  }
}
