/**
 * The relay's call metrics are tallied per path and operation and handed to prom-client when
 * read: the text a scrape gets must be what prom-client's own Counter and Histogram give for the
 * same calls.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { RelayMetrics } from '../../../src/relay/metrics';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The same calls through prom-client's own metrics. */
function reference(calls: Array<[string, string, number, number]>): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'relaybridge_http_requests_total', help: 'x', labelNames: ['path', 'operation', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'relaybridge_http_request_duration_seconds', help: 'x', labelNames: ['path', 'operation'], buckets: BUCKETS, registers: [registry] });
  for (const [path, operation, status, seconds] of calls) {
    requests.inc({ path, operation, status: String(status) });
    duration.observe({ path, operation }, seconds);
  }
  return registry;
}

/** The lines of the two call metrics, labels in sorted order, sorted (order is not part of the format). */
async function lines(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => /^relaybridge_http_request/.test(l))
    .map((l) => {
      const m = /^([^{ ]+)(?:\{(.*)\})? (.*)$/.exec(l)!;
      const labels = (m[2] ?? '').split(/,(?=[a-z]+=)/).filter(Boolean).sort().join(',');
      return `${m[1]}{${labels}} ${m[3]}`;
    })
    .sort();
}

describe('RelayMetrics call tally', () => {
  const calls: Array<[string, string, number, number]> = [
    ['orders', 'POST', 200, 0.0004],
    ['orders', 'POST', 200, 0.0005], // on a bound: counted in it (le)
    ['orders', 'POST', 502, 0.003],
    ['orders', 'GET', 200, 0.2],
    ['calc', 'http://example.org/ICalc/Add', 200, 75], // above every bound: only +Inf
    ['calc', 'http://example.org/ICalc/Add', 500, 0.01],
  ];

  it('gives the same counter and histogram lines as prom-client fed call by call', async () => {
    const m = new RelayMetrics();
    for (const [path, operation, status, seconds] of calls) m.recordCall(path, operation, status, seconds);
    const got = await lines(m.registry);
    expect(got).toEqual(await lines(reference(calls)));
    expect(got).toContain('relaybridge_http_requests_total{operation="POST",path="orders",status="200"} 2');
    expect(got).toContain('relaybridge_http_request_duration_seconds_bucket{le="0.0005",operation="POST",path="orders"} 2');
    expect(got).toContain('relaybridge_http_request_duration_seconds_count{operation="http://example.org/ICalc/Add",path="calc"} 2');
  });

  it('counts calls made between two reads once each, and keeps counting after a read', async () => {
    const m = new RelayMetrics();
    m.recordCall('orders', 'POST', 200, 0.001);
    await m.registry.metrics();
    m.recordCall('orders', 'POST', 200, 0.001);
    m.recordCall('orders', 'POST', 404, 0.001);
    const got = await lines(m.registry);
    expect(got).toContain('relaybridge_http_requests_total{operation="POST",path="orders",status="200"} 2');
    expect(got).toContain('relaybridge_http_requests_total{operation="POST",path="orders",status="404"} 1');
    expect(got).toContain('relaybridge_http_request_duration_seconds_count{operation="POST",path="orders"} 3');
    const json = await m.httpRequests.get();
    expect(json.values.reduce((a, v) => a + v.value, 0)).toBe(3);
  });

  it('starts from zero after the registry is reset', async () => {
    const m = new RelayMetrics();
    m.recordCall('orders', 'POST', 200, 0.001);
    m.registry.resetMetrics();
    m.recordCall('orders', 'GET', 200, 0.001);
    const got = await lines(m.registry);
    expect(got.filter((l) => l.includes('POST'))).toEqual([]);
    expect(got).toContain('relaybridge_http_request_duration_seconds_count{operation="GET",path="orders"} 1');
  });
});
