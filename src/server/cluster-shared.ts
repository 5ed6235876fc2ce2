import { SharedUsage } from '../cluster/shared-usage.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ServerConfig } from '../config/types.js';
import type { Logger } from '../util/logger.js';
import { UsageStore, type UsageLedger } from './accounts/usage-store.js';

/**
 * Where the users' usage counters live: the cluster's Redis when the server
 * is a node of one (a user's traffic on every node adds up against one
 * quota), else the file beside the config (or memory).
 */
export function usageLedger(config: ServerConfig, cluster: ClusterNode | undefined, log: Logger): UsageLedger {
  if (!cluster) return new UsageStore(config.usageFile || undefined);
  if (config.usageFile) log.info("cluster: users' usage counters are kept in Redis; usageFile is not read", { usageFile: config.usageFile });
  return new SharedUsage(cluster.redisLink, cluster.name, cluster.leaseMs, log.child({ part: 'usage' }));
}
