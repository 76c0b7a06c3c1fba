/**
 * The relay's net.tcp endpoint: a node:net server whose connections are NmfConnections
 * (nmf-connection.ts). WCF NetTcpBinding clients (security None, or Transport with the
 * application/ssl-tls upgrade when the relay has a certificate) address
 * net.tcp://relay:port/{hybrid connection path}[/suffix].
 */
import net from 'node:net';
import { ThrottledWarning, type Logger } from '../../../core/logger';
import type { SessionSlots } from './nmf-connection';
import type { EndpointDeps } from '../../deps';
import { describeNetTcpEndpoint } from './metadata';
import { NmfConnection, type NetTcpConfig } from './nmf-connection';

/** A client address's failed TLS handshakes are warned about at most once per this, ms. */
export const TLS_FAILURE_LOG_INTERVAL_MS = 60_000;

export class NetTcpEndpoint {
  readonly #ctx: EndpointDeps;
  readonly #config: NetTcpConfig;
  readonly #log: Logger;
  readonly #server: net.Server;
  readonly #connections = new Set<NmfConnection>();
  readonly #sockets = new Set<net.Socket>();
  #url = '';
  #port = 0;
  #nextId = 0;
  readonly #tlsFailures: ThrottledWarning;
  /** Carried sessions per hybrid connection path (netTcp.maxSessionsPerPath). */
  readonly #sessionsPerPath = new Map<string, number>();
  readonly #sessionSlots: SessionSlots = {
    acquire: (path) => {
      const n = this.#sessionsPerPath.get(path) ?? 0;
      if (n >= this.#config.maxSessionsPerPath) return false;
      this.#sessionsPerPath.set(path, n + 1);
      return true;
    },
    release: (path) => {
      const n = (this.#sessionsPerPath.get(path) ?? 1) - 1;
      if (n <= 0) this.#sessionsPerPath.delete(path);
      else this.#sessionsPerPath.set(path, n);
    },
  };

  constructor(ctx: EndpointDeps, config: NetTcpConfig) {
    this.#ctx = ctx;
    this.#config = config;
    this.#tlsFailures = new ThrottledWarning(TLS_FAILURE_LOG_INTERVAL_MS, () => ctx.config.clock.now());
    this.#log = ctx.log.child({ endpoint: 'net.tcp' });
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** net.tcp://host:port of this endpoint (publicUrl when configured), once listening. */
  get url(): string {
    return this.#url;
  }

  get port(): number {
    return this.#port;
  }

  /** Sessions without the TLS upgrade are refused (netTcp.requireTls, resolved at the options). */
  get requiresTls(): boolean {
    return this.#config.requireTls === true;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async listen(defaultHost: string): Promise<{ port: number; url: string }> {
    const host = this.#config.host ?? defaultHost;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#config.port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.#url = (this.#config.publicUrl ?? `net.tcp://${shown}:${this.#port}`).replace(/\/+$/, '');
    this.#log.info({ port: this.#port }, 'net.tcp endpoint listening');
    return { port: this.#port, url: this.#url };
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of this.#connections) c.close();
    // Clients that do not close their side within a moment are cut off.
    const timer = setTimeout(() => {
      for (const s of this.#sockets) s.destroy();
    }, 200);
    await closed;
    clearTimeout(timer);
  }

  #accept(socket: net.Socket): void {
    const tls = this.#config.allowTls ? this.#ctx.config.tls : undefined;
    // Every connection starts unauthenticated (NmfConnection gives the slot back once it is not).
    const address = this.#ctx.guard.clientAddresses.resolve(socket.remoteAddress);
    const slot = this.#ctx.guard.preAuthSlots.tryAcquire(address);
    const log = this.#log.child({ connId: ++this.#nextId, remote: socket.remoteAddress });
    if (!slot) log.info({ address, inUse: this.#ctx.guard.preAuthSlots.inUse }, 'unauthenticated net.tcp connection over the cap');
    const connection = new NmfConnection(socket, {
      ctx: this.#ctx,
      config: this.#config,
      log,
      tls,
      tooBusy: this.#connections.size >= this.#config.maxConnections,
      slot,
      tlsFailures: this.#tlsFailures,
      sessionSlots: this.#sessionSlots,
    });
    this.#connections.add(connection);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#connections.delete(connection);
      this.#sockets.delete(socket);
    });
  }
}

/**
 * The metadata hook: main WSDL documents (`?wsdl`, `?singleWsdl`) of a path also describe the
 * relay's net.tcp endpoint for it (metadata.ts). Other documents pass unchanged.
 */
export function netTcpMetadataTransform(
  endpoint: NetTcpEndpoint,
): (body: Buffer, doc: { entityPath: string; suffix: string; query: { name: string; value: string } }) => Buffer {
  return (body, doc) => {
    const main = doc.query.name === 'singlewsdl' || (doc.query.name === 'wsdl' && doc.query.value === '');
    if (!main || !endpoint.url) return body;
    const path = [doc.entityPath, doc.suffix].filter(Boolean).map((p) => p.split('/').map(encodeURIComponent).join('/')).join('/');
    try {
      return describeNetTcpEndpoint(body, { address: `${endpoint.url}/${path}`, transportSecurity: endpoint.requiresTls });
    } catch {
      return body;
    }
  };
}
