/**
 * A small closed-loop HTTP load generator: N connections (keep-alive), each sending the next
 * request when the previous answered, for a fixed duration. Reports calls/s and latency
 * percentiles. Used by every benchmark so direct and relayed runs are measured the same way.
 */
import http from 'node:http';

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** A body per request instead of `body` (a SOAP call with its own MessageID each time). */
  bodyFor?: () => Buffer;
  connections: number;
  durationMs: number;
  warmupMs?: number;
}

export interface LoadResult {
  calls: number;
  errors: number;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, noDelay: true });
  const one = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = http.request(o.url, { method: o.method ?? 'GET', headers: o.headers, agent }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve((res.statusCode ?? 0) < 400));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.end(o.bodyFor ? o.bodyFor() : o.body);
    });
  const loop = async (until: number, record: boolean, lat: number[], counts: { calls: number; errors: number }) => {
    while (Date.now() < until) {
      const t0 = process.hrtime.bigint();
      const ok = await one();
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (!record) continue;
      if (ok) {
        counts.calls++;
        lat.push(us);
      } else counts.errors++;
    }
  };
  const warm = { calls: 0, errors: 0 };
  await Promise.all(Array.from({ length: o.connections }, () => loop(Date.now() + (o.warmupMs ?? 300), false, [], warm)));
  const lat: number[] = [];
  const counts = { calls: 0, errors: 0 };
  const start = Date.now();
  await Promise.all(Array.from({ length: o.connections }, () => loop(start + o.durationMs, true, lat, counts)));
  const elapsed = (Date.now() - start) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]! : NaN);
  return { calls: counts.calls, errors: counts.errors, callsPerSecond: counts.calls / elapsed, p50Us: pct(50), p99Us: pct(99) };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
