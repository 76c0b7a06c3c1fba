/**
 * The agent's composition root: for each configured service it opens listener control
 * channel(s) to the relay (outbound only) and wires them to the service proxy.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { sasTokenProvider, staticTokenProvider, type TokenProvider } from '../auth/token-provider';
import { Backoff } from '../core/backoff';
import { ListenerChannel, type ChannelState } from './control/listener-channel';
import { buildAgentConfig, type AgentConfig, type AgentOptionsInput } from './options';
import { HttpProxy } from './proxies/http-proxy';
import { tcpTarget, wsTarget, type StreamTarget } from './proxies/stream-proxy';

export interface AgentStateEvent {
  path: string;
  listenerId: string;
  from: ChannelState;
  to: ChannelState;
  reason?: string;
  delayMs?: number;
}

export interface AgentEvents {
  state: [event: AgentStateEvent];
}

export interface Agent extends EventEmitter<AgentEvents> {
  readonly config: AgentConfig;
  readonly channels: readonly ListenerChannel[];
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every channel is READY (or rejects after timeoutMs). */
  whenReady(timeoutMs?: number): Promise<void>;
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
  const proxies: HttpProxy[] = [];

  for (const service of config.services) {
    const path = service.path.replace(/^\/+|\/+$/g, '');
    let http: HttpProxy | undefined;
    let stream: StreamTarget | undefined;
    const t = service.target;
    if (t.type === 'http') {
      http = new HttpProxy(path, { url: t.url, timeoutMs: t.timeoutMs, ca: t.ca, rejectUnauthorized: t.rejectUnauthorized });
      proxies.push(http);
    } else if (t.type === 'tcp') stream = tcpTarget(t.host, t.port);
    else stream = wsTarget(t.url);

    for (let i = 0; i < service.connections; i++) {
      const listenerId = service.listenerId
        ? service.connections > 1
          ? `${service.listenerId}-${i + 1}`
          : service.listenerId
        : randomUUID();
      const channel = new ListenerChannel({
        relayWsBase: wsBase,
        path,
        listenerId,
        tokenProvider,
        tokenTtlSeconds: config.tokenTtlSeconds,
        renewBeforeSeconds: config.renewBeforeSeconds,
        heartbeatIntervalMs: config.heartbeat.intervalMs,
        backoff: new Backoff({ ...config.reconnect, initialMs: config.reconnect.initialMs, random: config.random }),
        maxControlMessageBytes: config.maxControlMessageBytes,
        controlBodyThresholdBytes: config.controlBodyThresholdBytes,
        maxFramePayloadBytes: config.maxFramePayloadBytes,
        ca: config.tls?.ca,
        rejectUnauthorized: config.tls?.rejectUnauthorized ?? true,
        http,
        stream,
        clock: config.clock,
        logger: log.child({ path, listenerId }),
      });
      channel.on('state', (from, to, detail) => events.emit('state', { path, listenerId, from, to, ...detail }));
      channels.push(channel);
    }
  }

  const agent = Object.assign(events, {
    config,
    channels,
    start() {
      log.info({ relay: config.relayUrl, services: config.services.map((s) => s.path) }, 'agent starting');
      for (const c of channels) c.start();
    },
    async stop() {
      for (const c of channels) c.stop();
      for (const p of proxies) p.close();
      log.info('agent stopped');
    },
    whenReady(timeoutMs = 10_000) {
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
