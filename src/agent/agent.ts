/**
 * The agent's composition root: for each configured service it opens listener control
 * channel(s) to the relay (outbound only) and wires them to the service proxy.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { sasTokenProvider, staticTokenProvider, type TokenProvider } from '../auth/token-provider';
import type { AddressInfo } from 'node:net';
import { Backoff } from '../core/backoff';
import { holdProcess } from '../core/clock';
import { ConfigError } from '../core/errors';
import { ListenerChannel, type ChannelState, type StateDetail } from './control/listener-channel';
import { RendezvousDialer } from './rendezvous/rendezvous-client';
import { AcceptServer } from './serving/accept-server';
import { RequestServer } from './serving/request-server';
import { ProxyAgent } from '../transport/proxy-agent';
import { AgentMetrics } from './health/agent-metrics';
import { HealthServer, healthReport, type HealthReport } from './health/health-server';
import { buildAgentConfig, type AgentConfig, type AgentOptionsInput } from './options';
import { IpcHub } from './ipc/ipc-hub';
import type { ServiceProxy } from './proxies/service-proxy';
import { buildTarget } from './targets';

export interface AgentStateEvent extends StateDetail {
  path: string;
  listenerId: string;
  from: ChannelState;
  to: ChannelState;
}

export interface AgentEvents {
  state: [event: AgentStateEvent];
}

export interface Agent extends EventEmitter<AgentEvents> {
  readonly config: AgentConfig;
  readonly channels: readonly ListenerChannel[];
  /** Prometheus metrics (also served as /$metrics on the health port). */
  readonly metrics: AgentMetrics;
  /**
   * Starts every channel. From start() to stop() the agent keeps the Node process alive (one
   * ref'd handle), whatever the relay does: it reconnects forever.
   */
  start(): void;
  /**
   * Closes every channel (close 1000) after calls in flight had up to `stopDrainMs` to finish,
   * stops the local servers, and lets the process exit.
   */
  stop(): Promise<void>;
  /** Resolves once every channel is READY (or rejects after timeoutMs). */
  whenReady(timeoutMs?: number): Promise<void>;
  /** Resolves once the local servers (IPC sockets, health port) listen; rejects if one cannot. */
  whenStarted(): Promise<void>;
  /** The health endpoint's address once it listens (undefined when `health` is not configured). */
  healthAddress(): AddressInfo | undefined;
  /** What `/$health` answers now. */
  health(): HealthReport;
}

function readWsdlFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('invalid agent options', [`services[].target.wsdl: cannot read ${file}: ${(err as Error).message}`]);
  }
}

export function createAgent(options: AgentOptionsInput): Agent {
  const config = buildAgentConfig(options);
  const log = config.logger.child({ component: 'agent' });
  const wsBase = config.relayUrl.replace(/\/+$/, '').replace(/^http/i, 'ws');
  const tokenProvider: TokenProvider =
    config.tokenProvider ??
    (config.token ? staticTokenProvider(config.token) : sasTokenProvider(config.keyName!, config.key!, config.clock));
  const events = new EventEmitter<AgentEvents>();
  const channels: ListenerChannel[] = [];
  // Every channel's User-Agent: the relay's console page names the agent by it.
  const userAgent = `relaybridge-agent/${config.version} (${(config.name ?? os.hostname()).replace(/[^\x20-\x7e]/g, '?')})`;
  // One proxy agent for every channel and rendezvous (config.proxy; the CLI fills it from HTTPS_PROXY).
  const proxyAgent = config.proxy ? new ProxyAgent(config.proxy) : undefined;
  if (proxyAgent) log.info({ proxy: proxyAgent.display }, 'reaching the relay through an HTTP proxy');
  const metrics = new AgentMetrics(() => channels.map((c) => c.status()));
  // How every rendezvous is dialled (opened or refused): the relay's CA, the proxy, 20 s, frame bounds.
  const dialer = new RendezvousDialer({
    ca: config.tls?.ca,
    rejectUnauthorized: config.tls?.rejectUnauthorized ?? true,
    timeoutMs: 20_000,
    agent: proxyAgent?.agent,
    maxFramePayloadBytes: config.limits.maxFramePayloadBytes,
  });
  const proxies: ServiceProxy[] = [];
  const hubs = new Map<string, IpcHub>();

  for (const service of config.services) {
    const path = service.path.replace(/^\/+|\/+$/g, '');
    const { http, stream, sessions } = buildTarget(service.target, {
      path,
      logger: log.child({ path }),
      hubFor: (socketPath) => {
        let hub = hubs.get(socketPath);
        if (!hub) {
          hub = new IpcHub(socketPath, log);
          hubs.set(socketPath, hub);
        }
        return hub;
      },
      readWsdl: readWsdlFile,
    });
    if (http) proxies.push(http);

    for (let i = 0; i < service.connections; i++) {
      const listenerId = service.listenerId
        ? service.connections > 1
          ? `${service.listenerId}-${i + 1}`
          : service.listenerId
        : randomUUID();
      const logger = log.child({ path, listenerId });
      const channel = new ListenerChannel({
        relayWsBase: wsBase,
        fallbackRelayWsBases: (config.relayUrls ?? []).map((u) => u.replace(/\/+$/, '').replace(/^http/i, 'ws')).filter((u) => u !== wsBase),
        path,
        listenerId,
        tokenProvider,
        tokenTtlSeconds: config.tokenTtlSeconds,
        renewBeforeSeconds: config.renewBeforeSeconds,
        heartbeatIntervalMs: config.heartbeat.intervalMs,
        backoff: new Backoff({ ...config.reconnect, random: config.random }),
        authMaxMs: config.reconnect.authMaxMs,
        maxControlMessageBytes: config.limits.maxControlMessageBytes,
        controlBodyThresholdBytes: config.limits.controlBodyThresholdBytes,
        offerControlBodyBytes: config.limits.offerControlBodyBytes,
        proxyAgent,
        userAgent,
        ca: config.tls?.ca,
        rejectUnauthorized: config.tls?.rejectUnauthorized ?? true,
        serving: {
          requests: new RequestServer({ path, http, dialer, clock: config.clock, logger, onCall: (status, ms) => metrics.call(path, status, ms) }),
          accepts: new AcceptServer({ path, stream, sessions, dialer, logger }),
          dialer,
          offersSessions: sessions !== undefined,
          offersSoapBinary: http?.takesBinarySoap === true,
        },
        clock: config.clock,
        logger,
      });
      channel.on('state', (from, to, detail) => {
        if (to === 'READY') metrics.connects.inc({ path });
        events.emit('state', { path, listenerId, from, to, ...detail });
      });
      channels.push(channel);
    }
  }

  let hubsStarted: Promise<void> = Promise.resolve();
  let release: (() => void) | undefined;
  let stopped = false;
  const healthServer = config.health ? new HealthServer(() => healthReport(config.relayUrl, channels.map((c) => c.status())), metrics) : undefined;
  const agent = Object.assign(events, {
    config,
    channels,
    metrics,
    start() {
      if (release || stopped) return;
      // Every timer of systemClock is unref'd; while started, this handle holds the process,
      // so a pending reconnect is never the end of it.
      release = holdProcess();
      log.info({ relay: config.relayUrl, services: config.services.map((s) => s.path) }, 'agent starting');
      const local: Array<Promise<unknown>> = [...hubs.values()].map((h) =>
        h.start().catch((err: unknown) => {
          log.error({ err: (err as Error).message, socketPath: h.socketPath }, 'cannot listen on the IPC socket');
          throw err;
        }),
      );
      if (healthServer && config.health) {
        const { port, host } = config.health;
        local.push(
          healthServer.listen(port, host).then(
            (a) => log.info({ host: a.address, port: a.port }, 'health endpoint listening on /$health'),
            (err: unknown) => {
              log.error({ err: (err as Error).message, host, port }, 'cannot listen on the health port');
              throw err;
            },
          ),
        );
      }
      hubsStarted = Promise.all(local).then(() => undefined);
      hubsStarted.catch(() => undefined);
      for (const c of channels) c.start();
    },
    async stop() {
      stopped = true;
      try {
        await Promise.all(channels.map((c) => c.stop(config.stopDrainMs)));
        await Promise.all(proxies.map(async (p) => p.close()));
        await Promise.all([...hubs.values()].map((h) => h.close()));
        await healthServer?.close();
        log.info('agent stopped');
      } finally {
        release?.();
      }
    },
    whenStarted() {
      return hubsStarted;
    },
    healthAddress() {
      return healthServer?.address();
    },
    health() {
      return healthReport(config.relayUrl, channels.map((c) => c.status()));
    },
    async whenReady(timeoutMs = 10_000) {
      await hubsStarted;
      return new Promise<void>((resolve, reject) => {
        const check = () => channels.every((c) => c.state === 'READY');
        if (check()) return resolve();
        const timer = setTimeout(() => {
          events.off('state', onState);
          reject(new Error(`agent not ready after ${timeoutMs} ms: ${channels.map((c) => `${c.path}=${c.state}`).join(', ')}`));
        }, timeoutMs);
        const onState = () => {
          if (check()) {
            clearTimeout(timer);
            events.off('state', onState);
            resolve();
          }
        };
        events.on('state', onState);
      });
    },
  }) as Agent;
  return agent;
}
