import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthCheckSettings } from '../config/types.js';

export enum HealthState {
  Unknown = 'unknown',
  Healthy = 'healthy',
  Unhealthy = 'unhealthy',
}

/**
 * Client-side health check of one proxy's local service, as frp: `tcp`
 * connects, `http` GETs `path` and wants a 2xx. After `maxFailed` failures in
 * a row the proxy leaves the server (CloseProxy); the next success brings it
 * back (NewProxy). `onChange` fires on each transition, including the first.
 */
export class HealthCheck {
  state = HealthState.Unknown;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly settings: HealthCheckSettings,
    private readonly localIP: string,
    private readonly localPort: number,
    private readonly onChange: (healthy: boolean, reason: string) => void,
  ) {}

  start(): void {
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    const failure = await this.probe().then(
      () => '',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    if (this.stopped) return;
    if (failure === '') {
      this.failures = 0;
      if (this.state !== HealthState.Healthy) {
        this.state = HealthState.Healthy;
        this.onChange(true, '');
      }
    } else {
      this.failures += 1;
      if (this.state !== HealthState.Unhealthy && (this.failures >= Math.max(1, this.settings.maxFailed) || this.state === HealthState.Unknown)) {
        this.state = HealthState.Unhealthy;
        this.onChange(false, failure);
      }
    }
    this.timer = setTimeout(() => void this.tick(), Math.max(1, this.settings.intervalSeconds) * 1000);
    this.timer.unref();
  }

  private probe(): Promise<void> {
    const timeoutMs = Math.max(1, this.settings.timeoutSeconds) * 1000;
    if (this.settings.type === 'http') return this.probeHttp(timeoutMs);
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.localIP, port: this.localPort });
      s.setTimeout(timeoutMs, () => s.destroy(new Error(`health check: no TCP connection within ${timeoutMs} ms`)));
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', (err) => reject(new Error(`health check: ${err.message}`)));
    });
  }

  private probeHttp(timeoutMs: number): Promise<void> {
    const headers: Record<string, string> = {};
    for (const h of this.settings.httpHeaders) headers[h.name] = h.value;
    return new Promise((resolve, reject) => {
      const req = request({ host: this.localIP, port: this.localPort, path: this.settings.path || '/', headers, agent: false }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`health check: HTTP ${status}`));
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`health check: no answer within ${timeoutMs} ms`)));
      req.once('error', (err) => reject(new Error(`health check: ${err.message}`)));
      req.end();
    });
  }
}
