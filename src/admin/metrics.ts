import { Counter, Gauge, Registry } from 'prom-client';
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
export function createServerMetrics(stats: ServerStats): ServerMetrics {
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
    labelNames: ['type', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.set({ type: p.type, name: p.name }, p.online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'frp_server_connection_counts',
    help: 'Visitor connections open now, by proxy',
    labelNames: ['name', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.set({ name: p.name, type: p.type }, p.curConns);
    },
  });
  new Counter({
    name: 'frp_server_traffic_in',
    help: 'Bytes from visitors toward the client, by proxy',
    labelNames: ['name', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.inc({ name: p.name, type: p.type }, p.totalIn);
    },
  });
  new Counter({
    name: 'frp_server_traffic_out',
    help: 'Bytes from the client back to visitors, by proxy',
    labelNames: ['name', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of rows()) this.inc({ name: p.name, type: p.type }, p.totalOut);
    },
  });

  return { registry, render: () => registry.metrics() };
}
