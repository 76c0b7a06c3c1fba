/** Prometheus metrics for one relay instance (own registry, so several relays can share a process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';

/** Upper bounds of relaybridge_http_request_duration_seconds' buckets, seconds. */
const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const DURATION_NAME = 'relaybridge_http_request_duration_seconds';
const DURATION_HELP = 'Time from request to the end of the response, by entity path and operation';

/** One path and operation's calls since the relay started. */
interface CallTallyEntry {
  readonly labels: { readonly path: string; readonly operation: string };
  /** Calls per status not yet handed to the counter. */
  readonly unflushed: Map<number, number>;
  /** Calls per duration bucket, not cumulative; the last slot: above every bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * Relayed calls' counts and durations, tallied per path and operation in plain fields on every
 * call and handed to prom-client when the metrics are read. prom-client validates and hashes the
 * label set on every `inc` and `observe` (about 8 µs of a relayed call's CPU on the development
 * machine, measured with `perf`); this is a map lookup and a few additions.
 */
class CallTally {
  readonly #byPath = new Map<string, Map<string, CallTallyEntry>>();

  record(path: string, operation: string, status: number, seconds: number): void {
    let ops = this.#byPath.get(path);
    if (!ops) this.#byPath.set(path, (ops = new Map()));
    let e = ops.get(operation);
    if (!e) {
      e = { labels: { path, operation }, unflushed: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
      ops.set(operation, e);
    }
    e.unflushed.set(status, (e.unflushed.get(status) ?? 0) + 1);
    // Prometheus buckets are "less than or equal".
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    e.buckets[i]!++;
    e.sum += seconds;
    e.count++;
  }

  *entries(): IterableIterator<CallTallyEntry> {
    for (const ops of this.#byPath.values()) yield* ops.values();
  }

  clear(): void {
    this.#byPath.clear();
  }
}

/** relaybridge_http_request_duration_seconds, its values read from the tally when scraped. */
class TalliedHistogram extends Histogram<'path' | 'operation'> {
  readonly #tally: CallTally;

  constructor(tally: CallTally) {
    // Registered by its owner (RelayMetrics), never in prom-client's global registry.
    super({ name: DURATION_NAME, help: DURATION_HELP, labelNames: ['path', 'operation'] as const, buckets: [...DURATION_BUCKETS], registers: [] });
    this.#tally = tally;
  }

  override get(): Promise<MetricObjectWithValues<MetricValueWithName<'path' | 'operation'>>> {
    const name = DURATION_NAME;
    const values: MetricValueWithName<'path' | 'operation'>[] = [];
    for (const e of this.#tally.entries()) {
      let acc = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        acc += e.buckets[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { ...e.labels, le: DURATION_BUCKETS[i]! } as MetricValueWithName<'path' | 'operation'>['labels'], value: acc });
      }
      values.push({ metricName: `${name}_bucket`, labels: { ...e.labels, le: '+Inf' } as MetricValueWithName<'path' | 'operation'>['labels'], value: e.count });
      values.push({ metricName: `${name}_sum`, labels: { ...e.labels }, value: e.sum });
      values.push({ metricName: `${name}_count`, labels: { ...e.labels }, value: e.count });
    }
    // prom-client's MetricType enum is a declaration only: the object is built as its get() builds it.
    const metric = { name, help: DURATION_HELP, type: 'histogram', values, aggregator: 'sum' };
    return Promise.resolve(metric as unknown as MetricObjectWithValues<MetricValueWithName<'path' | 'operation'>>);
  }

  /** What the registry's text output reads (prom-client's own reads its per-observe map). */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'path' | 'operation'>>> {
    return this.get();
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor resets too, before this class's fields exist.
    if (#tally in this) this.#tally.clear();
  }
}

export class RelayMetrics {
  readonly registry = new Registry();
  readonly #calls = new CallTally();
  readonly httpRequests = new Counter({
    name: 'relaybridge_http_requests_total',
    help: 'Relayed HTTP requests by entity path, operation (SOAP action or method) and status',
    labelNames: ['path', 'operation', 'status'] as const,
    registers: [this.registry],
    // The calls tallied since the last read, handed over per label set.
    collect: () => {
      for (const e of this.#calls.entries()) {
        for (const [status, n] of e.unflushed) this.httpRequests.inc({ path: e.labels.path, operation: e.labels.operation, status: String(status) }, n);
        e.unflushed.clear();
      }
    },
  });
  readonly wsConnections = new Counter({
    name: 'relaybridge_ws_connections_total',
    help: 'WebSocket sender connections by entity path and result',
    labelNames: ['path', 'result'] as const,
    registers: [this.registry],
  });
  readonly broadcastDeliveries = new Counter({
    name: 'relaybridge_broadcast_deliveries_total',
    help: 'Messages to broadcast hybrid connections, per listener of this node: delivered, or dropped (listener unhealthy, gone, or too far behind)',
    labelNames: ['path', 'listener', 'result'] as const,
    registers: [this.registry],
  });
  readonly rendezvous = new Counter({
    name: 'relaybridge_rendezvous_total',
    help: 'Rendezvous sockets listeners opened for relayed HTTP requests (large bodies), by entity path',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly rendezvousPassedOn = new Counter({
    name: 'relaybridge_rendezvous_passed_on_total',
    help: 'Rendezvous connections a load balancer sent to this node that another node minted, passed on to that node, by result (ok, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly listeners = new Gauge({
    name: 'relaybridge_listeners',
    help: 'Connected listener control channels by entity path, on every relay node sharing the store',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly netTcpSessions = new Gauge({
    name: 'relaybridge_nettcp_sessions',
    help: 'net.tcp client sessions carried to an agent (one service session each), by entity path',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });
  readonly netTcpSessionsTotal = new Counter({
    name: 'relaybridge_nettcp_sessions_total',
    help: 'net.tcp client sessions by entity path and how they ended (client, service, failed, refused)',
    labelNames: ['path', 'end'] as const,
    registers: [this.registry],
  });
  readonly handshakeFailures = new Counter({
    name: 'relaybridge_handshake_failures_total',
    help: 'Refused WebSocket handshakes by action and status',
    labelNames: ['action', 'status'] as const,
    registers: [this.registry],
  });

  /** One relayed call (or one refused before routing): its count by status and its duration. */
  recordCall(path: string, operation: string, status: number, seconds: number): void {
    this.#calls.record(path, operation, status, seconds);
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // relaybridge_http_request_duration_seconds: fed only through recordCall, so it is not a
    // field anyone could observe() into (its values come from the tally, not prom-client's map).
    this.registry.registerMetric(new TalliedHistogram(this.#calls));
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'relaybridge_' });
  }
}
