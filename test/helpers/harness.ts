/**
 * Starts relays, agents and local services on loopback (port 0) for integration tests, and
 * tears every one of them down in reverse order.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createAgent, type Agent } from '../../src/agent/agent';
import type { AgentOptionsInput } from '../../src/agent/options';
import { createSasToken } from '../../src/auth/sas-token';
import { createRelayServer, type RelayServer } from '../../src/relay/relay-server';
import type { RelayOptionsInput } from '../../src/relay/options';
import { MemoryStore } from '../../src/store/memory-store';

export const ROOT_KEY_NAME = 'RootManageSharedAccessKey';
export const ROOT_KEY = 'dGVzdC1yb290LWtleS1ub3Qtc2VjcmV0LTEyMzQ1Njc4OTA=';

export class Harness {
  readonly #cleanups: Array<() => Promise<void> | void> = [];

  defer(fn: () => Promise<void> | void): void {
    this.#cleanups.push(fn);
  }

  async close(): Promise<void> {
    while (this.#cleanups.length) {
      const fn = this.#cleanups.pop()!;
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
  }

  async relay(options: Partial<RelayOptionsInput> = {}): Promise<RelayServer> {
    const relay = createRelayServer({
      port: 0,
      host: '127.0.0.1',
      store: options.store ?? new MemoryStore(),
      namespaceRules: [{ keyName: ROOT_KEY_NAME, primaryKey: ROOT_KEY, rights: ['Manage', 'Listen', 'Send'] }],
      metrics: false,
      ...options,
    });
    await relay.listen();
    this.defer(() => relay.close());
    return relay;
  }

  async agent(relay: RelayServer | string, services: AgentOptionsInput['services'], extra: Partial<AgentOptionsInput> = {}): Promise<Agent> {
    const agent = createAgent({
      relayUrl: typeof relay === 'string' ? relay : relay.url,
      keyName: ROOT_KEY_NAME,
      key: ROOT_KEY,
      services,
      reconnect: { initialMs: 50, maxMs: 500, multiplier: 1.6, jitter: 0.2 },
      // Tests stop agents at once; a test of the stop() drain sets its own.
      stopDrainMs: 0,
      ...extra,
    });
    agent.start();
    this.defer(() => agent.stop());
    return agent;
  }

  /** A local HTTP service; handler defaults to a JSON echo of method, url, headers and body size. */
  async httpService(handler?: http.RequestListener): Promise<{ url: string; server: http.Server; port: number }> {
    const server = http.createServer(
      handler ??
        ((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            const body = Buffer.concat(chunks);
            res.setHeader('Content-Type', 'application/json');
            res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length, body: body.toString('utf8').slice(0, 1000) }));
          });
        }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.defer(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, server, port };
  }

  /** A local TCP echo server. */
  async tcpEcho(): Promise<number> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.defer(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    return (server.address() as AddressInfo).port;
  }
}

export function token(relay: RelayServer, path: string, keyName = ROOT_KEY_NAME, key = ROOT_KEY, ttl = 3600): string {
  return createSasToken({ resourceUri: `${relay.url}/${path}`, keyName, key, expiresInSeconds: ttl });
}

export interface SimpleResponse {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A plain Node HTTP request with the whole response buffered. */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: http.Agent | false } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}
