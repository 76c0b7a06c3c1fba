/**
 * The relay's composition root: validates options, opens the store, seeds declared entities
 * and rules, builds the endpoints and serves them on one HTTP(S) port:
 *   /$hc/...        WebSocket upgrades: listeners, WebSocket senders, rendezvous
 *   /$management/.. REST management API
 *   /$metrics       Prometheus; /$health; /$status (a small status page): on the public port
 *                   Manage only (/$health: ok / not ok to anyone); on the optional admin
 *                   listener (`admin`, loopback by default) without a token
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
import { HttpSenderEndpoint } from './endpoints/http-sender/http-sender';
import { writeJsonError } from './http/json-error';
import { MetadataCache } from './endpoints/http-soap/metadata/metadata-cache';
import { MetadataEndpoint } from './endpoints/http-soap/metadata/metadata-endpoint';
import { SoapFaultContext, soapVersionOfRequest } from './endpoints/http-soap/soap-faults';
import { SoapHttpEndpoint } from './endpoints/http-soap/soap-endpoint';
import { createManagementApp } from './endpoints/management/management-api';
import { NetTcpEndpoint, netTcpMetadataTransform } from './endpoints/net-tcp/net-tcp-endpoint';
import { OpsEndpoints, opsRouteOf } from './endpoints/management/ops-endpoints';
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
  /** The HTTP sender endpoint (plain HTTP callers; `errorWriterFor` picks JSON or SOAP faults). */
  readonly httpSender: HttpSenderEndpoint;
  /** Metadata documents kept for serving while agents are offline. */
  readonly metadataCache: MetadataCache;
  /** The net.tcp endpoint (options.netTcp); its `url`/`port` are set once listening. */
  readonly netTcp: NetTcpEndpoint | undefined;
  /** Base URL of the admin listener (options.admin) once listening, else ''. */
  readonly adminUrl: string;
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
  const metadata = new MetadataEndpoint(ctx, metadataCache);
  const soap = new SoapHttpEndpoint(ctx, metadata);
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
  let adminUrl = '';
  let closing = false;
  const ops = new OpsEndpoints(ctx, metrics);
  const up = (): boolean => !closing;

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const target = req.url ?? '/';
    if (target.startsWith('/$management/') || target === '/$management') {
      req.url = target.slice('/$management'.length) || '/';
      management(req, res);
      return;
    }
    const route = opsRouteOf(target.split('?')[0]!);
    if (route) return ops.handle(route, req, res, { trusted: false, up });
    const soapKind = soap.claims(req);
    if (soapKind) void soap.handle(req, res, soapKind);
    else void httpSender.handle(req, res);
  };

  // Node checks header/request deadlines on this interval (default 30 s): a finer one for short deadlines.
  const connectionsCheckingInterval = Math.min(30_000, Math.max(250, Math.floor(config.limits.headersTimeoutMs / 2)));
  const server = config.tls
    ? https.createServer({ cert: config.tls.cert, key: config.tls.key, connectionsCheckingInterval }, onRequest)
    : http.createServer({ connectionsCheckingInterval }, onRequest);
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
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => onClientError(err, socket, log));
  // Long-poll style relayed calls must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = config.limits.headersTimeoutMs;
  server.keepAliveTimeout = 65_000;

  // The admin listener: /$status, /$metrics and /$health with details, no token (loopback by default).
  const adminSockets = new Set<Duplex>();
  const adminServer = config.admin
    ? http.createServer((req, res) => {
        const route = opsRouteOf((req.url ?? '/').split('?')[0]!);
        if (route) return ops.handle(route, req, res, { trusted: true, up });
        res.statusCode = 404;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ error: { code: 'NotFound', message: 'The admin listener serves /$status, /$metrics and /$health.' } }));
      })
    : undefined;
  adminServer?.on('connection', (s) => {
    adminSockets.add(s);
    s.on('close', () => adminSockets.delete(s));
  });
  adminServer?.on('clientError', (err: NodeJS.ErrnoException, socket) => onClientError(err, socket, log));

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
      const bound = server.address() as AddressInfo;
      const port = bound.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
      const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${port}`;
      if (adminServer && config.admin) {
        const admin = config.admin;
        await new Promise<void>((resolve, reject) => {
          adminServer.once('error', reject);
          adminServer.listen(admin.port, admin.host, () => {
            adminServer.off('error', reject);
            resolve();
          });
        });
        const adminPort = (adminServer.address() as AddressInfo).port;
        const adminHost = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
        adminUrl = `http://${adminHost.includes(':') ? `[${adminHost}]` : adminHost}:${adminPort}`;
        log.info({ port: adminPort, host: admin.host }, 'admin listener (status, metrics, health) listening');
      }
      if (netTcp) await netTcp.listen(config.host);
      // Last, once every listener is up: a line matching `relay listening on` means ready.
      log.info({ address, port, url, tls: !!config.tls }, `relay listening on ${address}`);
      await warnAboutStartConfig(config, store, port, log);
      return { port, url };
    },
    async close() {
      closing = true;
      if (adminServer?.listening) {
        await new Promise<void>((resolve) => {
          adminServer.close(() => resolve());
          for (const sock of adminSockets) sock.destroy();
        });
      }
      ctx.router.close();
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
  Object.defineProperty(relay, 'adminUrl', { get: () => adminUrl, enumerable: true });
  return relay;
}

/** The port a URL names, or its scheme's default (https and wss: 443, http and ws: 80). */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return /^(https|wss):$/i.test(url.protocol) ? 443 : 80;
}

/**
 * Settings that start fine but mislead, as warnings at start (never errors: a relay behind a
 * load balancer or a port-forwarding proxy legitimately listens on another port than it is
 * reached on):
 * - `publicUrl`'s port differs from the port the relay listens on: rendezvous addresses,
 *   connection strings and WSDL addresses all use `publicUrl`, so an agent that cannot reach it
 *   answers every large call with 502 RELAY_ERR_RENDEZVOUS_UNREACHABLE;
 * - no namespace rule and no entity rule: no agent can listen and no one can manage.
 */
async function warnAboutStartConfig(config: RelayConfig, store: Store, port: number, log: { warn(o: object, m: string): void }): Promise<void> {
  if (config.publicUrl) {
    const publicPort = effectivePort(new URL(config.publicUrl));
    if (publicPort !== port) {
      log.warn(
        { publicUrl: config.publicUrl, publicPort, port },
        `publicUrl ${config.publicUrl} names port ${publicPort} but the relay listens on port ${port}: agents open rendezvous connections to publicUrl, so unless a load balancer or proxy forwards ${publicPort} to ${port}, calls with bodies over 64 KiB fail with 502`,
      );
    }
  }
  const namespaceRules = await store.listNamespaceRules();
  if (namespaceRules.length > 0) return;
  const entities = await store.listEntities();
  if (entities.some((e) => (e.authorizationRules ?? []).length > 0)) return;
  log.warn(
    { namespaceRules: 0, entityRules: 0 },
    'the relay has no authorization rules: no agent can listen and nobody can manage it (add namespaceRules with a key made by `relaybridge key`)',
  );
}

/**
 * Malformed HTTP from a client: 400; a request whose headers (server.headersTimeout) or whole
 * request (server.requestTimeout) did not arrive in time: 408, as nginx and HAProxy answer.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex, log: { debug(o: object, m: string): void }): void {
  log.debug({ err: err.message, code: err.code }, 'malformed or too slow HTTP from a client');
  if (!socket.writable) return void socket.destroy();
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
  const status = timedOut ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
