/**
 * The agent's opt-in health endpoint: `GET /$health` (and `GET /$metrics`, Prometheus) on a local port (127.0.0.1 by default)
 * answers JSON with every path and listener channel (state, since when, reconnect attempts, the
 * last failure) and status 200 when every channel is READY, 503 otherwise, so a load balancer,
 * systemd watchdog script or Kubernetes probe can tell a connected agent from one that retries.
 * Plain node:http; nothing else is served.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChannelStatus } from '../control/listener-channel';
import type { AgentMetrics } from './agent-metrics';

export interface HealthReport {
  /** `ok` when every channel is READY. */
  status: 'ok' | 'degraded';
  /** The relay the agent dials. */
  relay: string;
  paths: Array<{ path: string; connected: boolean; listeners: ChannelStatus[] }>;
}

export function healthReport(relay: string, channels: readonly ChannelStatus[]): HealthReport {
  const byPath = new Map<string, ChannelStatus[]>();
  for (const c of channels) {
    const list = byPath.get(c.path) ?? [];
    list.push(c);
    byPath.set(c.path, list);
  }
  const paths = [...byPath].map(([path, listeners]) => ({ path, connected: listeners.every((l) => l.state === 'READY'), listeners }));
  return { status: paths.every((p) => p.connected) ? 'ok' : 'degraded', relay, paths };
}

export class HealthServer {
  readonly #server: http.Server;
  readonly #report: () => HealthReport;
  readonly #metrics: AgentMetrics | undefined;

  /** `metrics`: served as /$metrics (Prometheus text) beside /$health. */
  constructor(report: () => HealthReport, metrics?: AgentMetrics) {
    this.#report = report;
    this.#metrics = metrics;
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    // Probes are short; never let one hold a socket (or stop()) for long.
    this.#server.keepAliveTimeout = 1000;
    this.#server.headersTimeout = 5000;
    this.#server.requestTimeout = 5000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | undefined {
    const a = this.#server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const metrics = this.#metrics && (path === '/$metrics' || path === '/%24metrics');
    if (path !== '/$health' && path !== '/%24health' && !metrics) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(`{"error":"not found; try /$health${this.#metrics ? ' or /$metrics' : ''}"}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json; charset=utf-8' }).end('{"error":"method not allowed"}');
      return;
    }
    if (metrics) {
      const registry = this.#metrics!.registry;
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    const report = this.#report();
    const body = JSON.stringify(report);
    res.writeHead(report.status === 'ok' ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
