/**
 * The agent's Prometheus metrics (own registry, so several agents can share a process), served
 * with /$health on the agent's local health port: relayed calls by path and status, their
 * duration, connections made to the relay, and each listener channel's state.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChannelStatus } from '../control/channel-state';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly calls = new Counter({
    name: 'relaybridge_agent_calls_total',
    help: 'Relayed calls answered by the local service (or failed on the agent), by path and status',
    labelNames: ['path', 'status'] as const,
    registers: [this.registry],
  });
  readonly callDuration = new Histogram({
    name: 'relaybridge_agent_call_duration_seconds',
    help: 'Time from a relayed call to the local service answer, by path',
    labelNames: ['path'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly connects = new Counter({
    name: 'relaybridge_agent_connects_total',
    help: 'Listener channels that became ready (connected to the relay), by path',
    labelNames: ['path'] as const,
    registers: [this.registry],
  });

  constructor(channels: () => readonly ChannelStatus[]) {
    new Gauge({
      name: 'relaybridge_agent_channel_ready',
      help: 'A listener channel is connected and serving (1) or not (0), by path and listener',
      labelNames: ['path', 'listener'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of channels()) this.set({ path: c.path, listener: c.listenerId }, c.state === 'READY' ? 1 : 0);
      },
    });
  }

  /** A relayed call is over on this side: its status and duration. */
  call(path: string, status: number, ms: number): void {
    this.calls.inc({ path, status: String(status) });
    this.callDuration.observe({ path }, ms / 1000);
  }
}
