/**
 * The relay's composition root: validates options, opens the store, seeds declared entities
 * and rules, builds the endpoints and serves them on one HTTP(S) port:
 *   /$hc/...        WebSocket upgrades: listeners, WebSocket senders, rendezvous
 *   /$management/.. REST management API
 *   /$metrics       Prometheus; /$health; /$status (a small status page)
 *   /{path}/...     HTTP senders (relayed to a listener); SOAP POSTs and metadata GETs
 *                   (?wsdl, ?xsd=…) go through the SOAP endpoint first (endpoints/http-soap)
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { MemoryStore } from '../store/memory-store';
import type { Store } from '../store/store';
import { RelayContext } from './context';
import { UpgradeEndpoint } from './endpoints/control/upgrade-endpoint';
import { HttpSenderEndpoint, writeJsonError } from './endpoints/http-sender/http-sender';
import { MetadataCache } from './endpoints/http-soap/metadata/metadata-cache';
import { MetadataEndpoint } from './endpoints/http-soap/metadata/metadata-endpoint';
import { SoapFaultContext, soapVersionOfRequest } from './endpoints/http-soap/soap-faults';
import { SoapHttpEndpoint } from './endpoints/http-soap/soap-endpoint';
import { createManagementApp } from './endpoints/management/management-api';
import { NetTcpEndpoint, netTcpMetadataTransform } from './endpoints/net-tcp/net-tcp-endpoint';
import { renderStatusPage } from './endpoints/management/status-page';
import { RelayMetrics } from './metrics';
import { buildRelayConfig, type RelayConfig, type RelayOptionsInput } from './options';

export interface RelayServer extends EventEmitter {
  readonly config: RelayConfig;
  readonly store: Store;
  readonly context: RelayContext;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<{ port: number; url: string }>;
  /** Closes every listener channel, pending call and socket, then the store. */
  close(): Promise<void>;
  /** Base URL (http(s)://host:port) once listening. */
  readonly url: string;
  /** The HTTP sender endpoint (SOAP-aware layers hook their error writer here). */
  readonly httpSender: HttpSenderEndpoint;
  /** Metadata documents kept for serving while agents are offline. */
  readonly metadataCache: MetadataCache;
  /** The net.tcp endpoint (options.netTcp); its `url`/`port` are set once listening. */
  readonly netTcp: NetTcpEndpoint | undefined;
}

export function createRelayServer(options: RelayOptionsInput): RelayServer {
  const config = buildRelayConfig(options);
  const store = config.store ?? new MemoryStore({ clock: config.clock });
  const metrics = new RelayMetrics({ defaultMetrics: config.metrics });
  const ctx = new RelayContext(config, store, metrics);
  const log = config.logger.child({ component: 'relay' });
  const upgrades = new UpgradeEndpoint(ctx);
  const httpSender = new HttpSenderEndpoint(ctx);
  const netTcp = config.netTcp ? new NetTcpEndpoint(ctx, config.netTcp) : undefined;
  const metadataCache = new MetadataCache({
    maxEntries: config.limits.metadataCacheEntries,
    maxBytes: config.limits.metadataCacheBytes,
    // A store that persists documents keeps WSDLs servable across a relay restart.
    backing:
      store.getDocument && store.putDocument
        ? { get: (path, key) => store.getDocument!(path, key), put: (path, key, doc) => store.putDocument!(path, key, doc) }
        : undefined,
  });
  const metadata = new MetadataEndpoint(ctx, httpSender, metadataCache);
  const soap = new SoapHttpEndpoint(ctx, httpSender, metadata);
  // With a net.tcp endpoint, WSDLs also describe it (at the relay's net.tcp address).
  if (netTcp) metadata.transformDocument = netTcpMetadataTransform(netTcp);
  // Requests that look like SOAP but are relayed as plain HTTP still get their errors as faults.
  httpSender.errorWriterFor = (req) => {
    const version = soapVersionOfRequest(req);
    return version ? new SoapFaultContext(version).write : writeJsonError;
  };
  const management = createManagementApp(ctx);
  const sockets = new Set<Duplex>();
  const events = new EventEmitter();
  let url = '';

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = req.url ?? '/';
    if (target.startsWith('/$management/') || target === '/$management') {
      req.url = target.slice('/$management'.length) || '/';
      management(req, res);
      return;
    }
    const pathOnly = target.split('?')[0];
    if (pathOnly === '/$health') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ status: 'ok', nodeId: config.nodeId, listeners: ctx.registry.all().length }));
      return;
    }
    if (pathOnly === '/$metrics' && config.metrics) {
      metrics.registry
        .metrics()
        .then((text) => {
          res.setHeader('Content-Type', metrics.registry.contentType);
          res.end(text);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    if (pathOnly === '/$status') {
      renderStatusPage(ctx)
        .then((html) => {
          res.setHeader('Content-Type', 'text/html; charset=utf-8');
          res.end(html);
        })
        .catch(() => res.writeHead(500).end());
      return;
    }
    const soapKind = soap.claims(req);
    if (soapKind) void soap.handle(req, res, soapKind);
    else void httpSender.handle(req, res);
  };

  const server = config.tls
    ? https.createServer({ cert: config.tls.cert, key: config.tls.key }, onRequest)
    : http.createServer(onRequest);
  ctx.tls = !!config.tls;
  server.on('upgrade', (req, socket, head) => void upgrades.handle(req, socket, head));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'malformed HTTP from a client');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  // Long-poll style relayed calls must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  async function seed(): Promise<void> {
    await store.open();
    for (const rule of config.namespaceRules) await store.putNamespaceRule(rule);
    for (const e of config.entities) {
      await store.upsertEntity({
        path: e.path,
        requiresClientAuthorization: e.requiresClientAuthorization,
        userMetadata: e.userMetadata,
        authorizationRules: [...e.authorizationRules],
      });
    }
    await ctx.refreshNamespaceRules();
  }

  const relay = Object.assign(events, {
    config,
    store,
    context: ctx,
    httpSender,
    metadataCache,
    netTcp,
    async listen() {
      await seed();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const port = (server.address() as AddressInfo).port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
      log.info({ port, tls: !!config.tls }, 'relay listening');
      if (netTcp) await netTcp.listen(config.host);
      return { port, url };
    },
    async close() {
      for (const ch of ctx.registry.all()) ch.close(1001, 'Relay shutting down');
      for (const p of ctx.pendingAccepts.values()) p.cancel();
      upgrades.close();
      const netTcpClosed = netTcp?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 200).unref();
      });
      await netTcpClosed;
      await store.close();
      log.info('relay closed');
    },
  }) as unknown as RelayServer;
  // A live getter (Object.assign would copy the value once).
  Object.defineProperty(relay, 'url', { get: () => url, enumerable: true });
  return relay;
}
