/** Prometheus metrics for one relay instance (own registry, so several relays can share a process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RelayMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'relaybridge_http_requests_total',
    help: 'Relayed HTTP requests by entity path, operation (SOAP action or method) and status',
    labelNames: ['path', 'operation', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'relaybridge_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by entity path and operation',
    labelNames: ['path', 'operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
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

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'relaybridge_' });
  }
}
