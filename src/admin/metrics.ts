import type { Registry } from 'prom-client';
import { lazyRequire } from '../util/lazy-require.js';
import type { AccountReport } from '../server/accounts/accounts.js';
import type { ProxyCounters, ServerStats } from './stats/server-stats.js';

/** The server's Prometheus endpoint: frp's metric names, read from the stats when scraped. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** the exposition text for one scrape */
  render(): Promise<string>;
}

/**
 * frp's metric set (namespace `frp`, subsystem `server`). Every value is
 * filled in by a collect() callback at scrape time from the dashboard stats,
 * so nothing here runs per relayed byte or per connection. A registry of its
 * own: two servers in one process (tests, the demo) do not collide.
 */
/** prom-client (and the OpenTelemetry API it pulls in) loads only on servers with enablePrometheus. */
const promClient = lazyRequire<typeof import('prom-client')>('prom-client');

export function createServerMetrics(stats: ServerStats, accounts: () => AccountReport[] = () => [], ipRuleRefusals: () => number = () => 0): ServerMetrics {
  const { Counter, Gauge, Registry } = promClient();
  const registry = new Registry();
  const rows = (): ProxyCounters[] => stats.proxyCounters();

  new Gauge({
    name: 'frp_server_client_counts',
    help: 'Clients logged in now',
    registers: [registry],
    collect() {
      this.set(stats.clientCount);
    },
  });
  new Gauge({
    name: 'frp_server_proxy_counts',
    help: 'Proxies running now, by type',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, n] of Object.entries(stats.proxyTypeCounts())) this.set({ type }, n);
    },
  });
  new Gauge({
    name: 'frp_server_proxy_counts_detailed',
    help: 'Each known proxy: 1 while running, 0 once closed',
    labelNames: ['type', 'name', 'user'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.set({ type: p.type, name: p.name, user: p.user }, p.online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'frp_server_connection_counts',
    help: 'Visitor connections open now, by proxy',
    labelNames: ['name', 'type', 'user'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.set({ name: p.name, type: p.type, user: p.user }, p.curConns);
    },
  });
  new Counter({
    name: 'frp_server_traffic_in',
    help: 'Bytes from visitors toward the client, by proxy',
    labelNames: ['name', 'type', 'user'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.inc({ name: p.name, type: p.type, user: p.user }, p.totalIn);
    },
  });
  new Counter({
    name: 'frp_server_traffic_out',
    help: 'Bytes from the client back to visitors, by proxy',
    labelNames: ['name', 'type', 'user'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.inc({ name: p.name, type: p.type, user: p.user }, p.totalOut);
    },
  });

  // burrow's own, one series per [[users]] account: usage against its limits.
  for (const [name, help, value] of [
    ['burrow_server_user_traffic_bytes', 'Bytes in + out of the account in its current quota period', (a: AccountReport) => a.trafficUsed],
    ['burrow_server_user_traffic_quota_bytes', "The account's traffic quota per period (0 = none)", (a: AccountReport) => a.trafficQuota],
    ['burrow_server_user_connections', "User connections open now over all of the account's proxies", (a: AccountReport) => a.connections],
    ['burrow_server_user_proxies', 'Proxies the account has registered now', (a: AccountReport) => a.proxies],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['user'],
      registers: [registry],
      collect() {
        this.reset();
        for (const a of accounts()) this.set({ user: a.name }, value(a));
      },
    });
  }

  new Counter({
    name: 'burrow_server_ip_rule_refusals_total',
    help: 'User connections and datagrams dropped by allowIPs/denyIPs',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ipRuleRefusals());
    },
  });

  return { registry, render: () => registry.metrics() };
}
