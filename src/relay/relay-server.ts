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
import { randomUUID } from 'node:crypto';
import { RandomPool } from '../core/random';
import http from 'node:http';
import os from 'node:os';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ThrottledWarning, type Logger } from '../core/logger';
import { MemoryStore } from '../store/memory-store';
import type { Store, StoreChange } from '../store/store';
import { Cluster } from './cluster/cluster';
import { AccessControl } from './access/access-control';
import type { ManagementDeps, NodeView, PreAuthGuard } from './deps';
import { UpgradeEndpoint } from './endpoints/control/upgrade-endpoint';
import { HttpSenderEndpoint } from './endpoints/http-sender/http-sender';
import { writeJsonError } from './http/json-error';
import { trackingDescriber } from './http/tracking';
import { AccessLog } from './http/access-log';
import { MetadataCache } from './endpoints/http-soap/metadata/metadata-cache';
import { MetadataEndpoint } from './endpoints/http-soap/metadata/metadata-endpoint';
import { SoapFaultContext, soapVersionOfRequest } from './endpoints/http-soap/soap-faults';
import { SoapHttpEndpoint } from './endpoints/http-soap/soap-endpoint';
import { createManagementApp } from './endpoints/management/management-api';
import { NetTcpEndpoint, netTcpMetadataTransform } from './endpoints/net-tcp/net-tcp-endpoint';
import { OpsEndpoints, opsRouteOf } from './endpoints/management/ops-endpoints';
import { ClientAddressResolver } from './guard/client-address';
import { PreAuthSlots } from './guard/pre-auth-slots';
import { Tarpit } from './guard/tarpit';
import { RelayMetrics } from './metrics';
import { buildRelayConfig, type RelayConfig, type RelayOptionsInput } from './options';
import { Router } from './routing/router';
import type { RouteListener } from './routing/pending-request';

/**
 * One relay node. Construction builds and wires everything (nothing is assigned afterwards);
 * `listen()` seeds the store and opens the ports; `close()` drains and closes them.
 */
export class RelayServer {
  readonly config: RelayConfig;
  readonly store: Store;
  /** Every relayed call goes through it: listener registry, pending requests and accepts. */
  readonly router: Router;
  readonly access: AccessControl;
  readonly metrics: RelayMetrics;
  /** Caller addresses and the caps on callers that have not authorized yet. */
  readonly guard: PreAuthGuard;
  /** The HTTP sender endpoint (plain HTTP callers; SOAP-looking ones get their errors as faults). */
  readonly httpSender: HttpSenderEndpoint;
  /** Metadata documents kept for serving while agents are offline. */
  readonly metadataCache: MetadataCache;
  /** The net.tcp endpoint (options.netTcp); its `url`/`port` are set once listening. */
  readonly netTcp: NetTcpEndpoint | undefined;
  readonly #log: Logger;
  readonly #upgrades: UpgradeEndpoint;
  readonly #soap: SoapHttpEndpoint;
  readonly #management: ReturnType<typeof createManagementApp>;
  readonly #ops: OpsEndpoints;
  readonly #accessLog: AccessLog;
  readonly #server: http.Server;
  readonly #adminServer: http.Server | undefined;
  readonly #sockets = new Set<Duplex>();
  readonly #adminSockets = new Set<Duplex>();
  #url = '';
  #adminUrl = '';
  #closing = false;
  #drained: Promise<void> | undefined;
  /** Stops following a shared store's changes (Store.watch). */
  #stopWatch: (() => void) | undefined;
  /** The other relay nodes sharing the store (relay/cluster), when the store has messaging. */
  cluster: Cluster | undefined;

  constructor(options: RelayOptionsInput) {
    const config = (this.config = buildRelayConfig(options));
    const store: Store = (this.store = config.store ?? new MemoryStore({ clock: config.clock }));
    const log = (this.#log = config.logger.child({ component: 'relay' }));
    const describe = trackingDescriber(config.clock);
    const metrics = (this.metrics = new RelayMetrics({ defaultMetrics: config.metrics }));
    const access = (this.access = new AccessControl({ config, store, describe }));
    const scheme = config.tls ? 'wss' : 'ws';
    const publicBase = config.publicUrl?.replace(/^http/i, 'ws').replace(/\/+$/, '');
    // Rendezvous secrets (128 bits each) from a CSPRNG-filled pool: no crypto call per request.
    const secrets = new RandomPool();
    const router = (this.router = new Router({
      limits: config.limits,
      store,
      metrics,
      clock: config.clock,
      random: config.random,
      log: config.logger,
      newId: () => randomUUID(),
      newSecret: () => secrets.hex(16),
      // Several nodes: ids name the node that minted them (a misrouted rendezvous finds its node).
      nodeId: store.messaging ? config.nodeId : undefined,
      // Rendezvous addresses: publicUrl, else the Host the listener connected with.
      rendezvousBase: (host) => publicBase ?? `${scheme}://${host ?? 'localhost'}`,
      describe,
    }));
    const guard = (this.guard = {
      clientAddresses: new ClientAddressResolver(config.trustedProxies),
      preAuthSlots: new PreAuthSlots({ perAddress: config.limits.maxUnauthenticatedPerAddress, total: config.limits.maxUnauthenticated }),
      tarpit: new Tarpit({ holdMs: config.limits.tarpitMs, maxHeld: config.limits.maxTarpitted, clock: config.clock }),
    });
    const nodes = (): NodeView[] => [
      { nodeId: config.nodeId, listeners: router.registry.all().filter((l) => !l.remote).length, self: true, draining: router.draining },
      ...(this.cluster?.nodes() ?? []).map((n) => ({ ...n, self: false })),
    ];
    const accessLog = (this.#accessLog = new AccessLog({
      log: config.logger.child({ component: 'access' }),
      clock: config.clock,
      newId: () => router.mintId(),
      remoteOf: (req) => guard.clientAddresses.resolve(req.socket.remoteAddress, req.headers),
      enabled: config.accessLog,
    }));
    const deps: ManagementDeps = { config, access, router, metrics, log: config.logger, guard, store, nodes, accessLog };

    this.#upgrades = new UpgradeEndpoint(deps);
    // Requests that look like SOAP but are relayed as plain HTTP still get their errors as faults.
    this.httpSender = new HttpSenderEndpoint(deps, {
      errorWriterFor: (req) => {
        const version = soapVersionOfRequest(req);
        return version ? new SoapFaultContext(version).write : writeJsonError;
      },
    });
    const netTcp = (this.netTcp = config.netTcp ? new NetTcpEndpoint(deps, config.netTcp) : undefined);
    this.metadataCache = new MetadataCache({
      maxEntries: config.limits.metadataCacheEntries,
      maxBytes: config.limits.metadataCacheBytes,
      // A store that persists documents keeps WSDLs servable across a relay restart.
      backing:
        store.getDocument && store.putDocument
          ? { get: (path, key) => store.getDocument!(path, key), put: (path, key, doc) => store.putDocument!(path, key, doc) }
          : undefined,
    });
    // With a net.tcp endpoint, WSDLs also describe it (at the relay's net.tcp address).
    const metadata = new MetadataEndpoint(deps, {
      cache: this.metadataCache,
      transformDocument: netTcp ? netTcpMetadataTransform(netTcp) : undefined,
    });
    this.#soap = new SoapHttpEndpoint(deps, metadata);
    this.#management = createManagementApp(deps);
    this.#ops = new OpsEndpoints(deps);

    // Node checks header/request deadlines on this interval (default 30 s): a finer one for short deadlines.
    const connectionsCheckingInterval = Math.min(30_000, Math.max(250, Math.floor(config.limits.headersTimeoutMs / 2)));
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => this.#route(req, res);
    const server = (this.#server = config.tls
      ? https.createServer({ cert: config.tls.cert, key: config.tls.key, connectionsCheckingInterval }, onRequest)
      : http.createServer({ connectionsCheckingInterval }, onRequest));
    server.on('upgrade', (req, socket, head) => void this.#upgrades.handle(req, socket, head));
    const track = (set: Set<Duplex>) => (s: Duplex) => {
      set.add(s);
      s.on('close', () => set.delete(s));
    };
    server.on('connection', track(this.#sockets));
    server.on('secureConnection', track(this.#sockets));
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => onClientError(err, socket, log));
    // A failed TLS handshake (a client without the relay's CA, an old TLS version, a scanner):
    // one warning per client address per minute, with the count suppressed in between.
    const tlsFailures = new ThrottledWarning(60_000, () => config.clock.now());
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Duplex & { remoteAddress?: string }) => {
      const remote = socket.remoteAddress ?? '';
      tlsFailures.warn(log, remote, { remote, err: err.message, code: err.code }, 'https TLS handshake failed');
    });
    // Long-poll style relayed calls must not be cut by Node's default request timeout.
    server.requestTimeout = 0;
    server.headersTimeout = config.limits.headersTimeoutMs;
    server.keepAliveTimeout = 65_000;

    // The admin listener: /$status, /$metrics and /$health with details, no token (loopback by default).
    if (config.admin) {
      const admin = (this.#adminServer = http.createServer((req, res) => {
        const route = opsRouteOf((req.url ?? '/').split('?')[0]!);
        if (route) return this.#ops.handle(route, req, res, { trusted: true, up: this.#up });
        res.statusCode = 404;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ error: { code: 'NotFound', message: 'The admin listener serves /$status, /$metrics and /$health.' } }));
      }));
      admin.on('connection', track(this.#adminSockets));
      admin.on('clientError', (err: NodeJS.ErrnoException, socket) => onClientError(err, socket, log));
    }
  }

  /** Base URL (http(s)://host:port) once listening. */
  get url(): string {
    return this.#url;
  }

  /** Base URL of the admin listener (options.admin) once listening, else ''. */
  get adminUrl(): string {
    return this.#adminUrl;
  }

  readonly #up = (): boolean => !this.#closing && !this.router.draining;

  /** The route table of the public port; every request gets a correlation id and an access line. */
  #route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = req.url ?? '/';
    if (target.startsWith('/$management/') || target === '/$management') {
      this.#accessLog.begin(req, res, 'management');
      req.url = target.slice('/$management'.length) || '/';
      this.#management(req, res);
      return;
    }
    const route = opsRouteOf(target.split('?')[0]!);
    if (route) {
      this.#accessLog.begin(req, res, route.slice(2));
      return this.#ops.handle(route, req, res, { trusted: false, up: this.#up });
    }
    const soapKind = this.#soap.claims(req);
    this.#accessLog.begin(req, res, soapKind ? (soapKind.kind === 'metadata' ? 'metadata' : 'soap') : 'http');
    if (soapKind) void this.#soap.handle(req, res, soapKind);
    else void this.httpSender.handle(req, res);
  }

  async #seed(): Promise<void> {
    const { store, config } = this;
    await store.open();
    for (const rule of config.namespaceRules) await store.putNamespaceRule(rule);
    for (const e of config.entities) {
      await store.upsertEntity({
        path: e.path,
        requiresClientAuthorization: e.requiresClientAuthorization,
        userMetadata: e.userMetadata,
        ...(e.broadcast !== undefined ? { broadcast: e.broadcast } : {}),
        authorizationRules: [...e.authorizationRules],
      });
    }
    await this.access.refreshNamespaceRules();
  }

  /**
   * A change made through any node of a shared store: caches are dropped at once (a revoked
   * rule or a deleted entity is refused here too), and a deleted entity's listeners on this node
   * are closed. `reset`: changes may have been missed while the store was away.
   */
  #onStoreChange(change: StoreChange): void {
    const refreshRules = (): void =>
      void this.access.refreshNamespaceRules().catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'could not read the namespace rules'));
    switch (change.kind) {
      case 'entity':
        this.access.entityChanged(change.path, change.deleted);
        if (change.deleted) for (const l of this.router.registry.list(change.path)) l.close(1001, 'Entity deleted');
        return;
      case 'namespaceRules':
        return refreshRules();
      case 'reset':
        this.#log.info('the shared store reconnected: caches dropped');
        this.access.invalidateCaches();
        return refreshRules();
    }
  }

  /** Seeds the store and starts listening; resolves with the bound port. */
  async listen(): Promise<{ port: number; url: string }> {
    const { config } = this;
    await this.#seed();
    this.#stopWatch = this.store.watch?.((change) => this.#onStoreChange(change));
    const server = this.#server;
    await listenOn(server, config.port, config.host);
    const bound = server.address() as AddressInfo;
    const port = bound.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    this.#url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
    const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${port}`;
    if (this.#adminServer && config.admin) {
      const admin = config.admin;
      await listenOn(this.#adminServer, admin.port, admin.host);
      const adminPort = (this.#adminServer.address() as AddressInfo).port;
      const adminHost = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
      this.#adminUrl = `http://${adminHost.includes(':') ? `[${adminHost}]` : adminHost}:${adminPort}`;
      this.#log.info({ port: adminPort, host: admin.host }, 'admin listener (status, metrics, health) listening');
    }
    if (this.netTcp) await this.netTcp.listen(config.host);
    const messaging = this.store.messaging?.();
    if (messaging) {
      // Listeners on other nodes dial this node's rendezvous addresses: its publicUrl, else the URL it is bound to.
      const base = (config.publicUrl ?? this.#url).replace(/^http/i, 'ws').replace(/\/+$/, '');
      const internal = (config.internalUrl ?? internalUrlOf(config, port)).replace(/\/+$/, '');
      this.cluster = new Cluster({
        messaging,
        nodeId: config.nodeId,
        router: this.router,
        rendezvousBase: base,
        internalUrl: internal,
        clock: config.clock,
        log: config.logger,
      });
      this.cluster.start();
      this.#log.info({ nodeId: config.nodeId, rendezvous: base, internalUrl: internal }, 'joined the relay nodes sharing the store');
    }
    // Last, once every listener is up: a line matching `relay listening on` means ready.
    this.#log.info({ address, port, url: this.#url, tls: !!config.tls }, `relay listening on ${address}`);
    await warnAboutStartConfig(config, this.store, port, this.#log);
    return { port, url: this.#url };
  }

  /**
   * A graceful stop (SIGTERM): no new listeners (503 RELAY_ERR_DRAINING), /$health 503 so a load
   * balancer stops sending here, this node's listeners take no new calls (on any node) and are
   * closed with 1001, so they re-home to another node, as soon as no call is in flight on them;
   * calls in flight get up to `graceMs` (default drainGraceMs) to finish; then close().
   */
  drain(graceMs: number = this.config.drainGraceMs): Promise<void> {
    this.#drained ??= this.#drain(graceMs);
    return this.#drained;
  }

  async #drain(graceMs: number): Promise<void> {
    const { clock } = this.config;
    const deadline = clock.now() + graceMs;
    this.router.drain();
    this.cluster?.drain();
    const local = (): RouteListener[] => this.router.registry.all().filter((l) => !l.remote);
    this.#log.info(
      { graceMs, listeners: local().length, calls: this.router.pendingRequests.size },
      'draining: no new listeners; listeners re-home once their calls finish',
    );
    for (;;) {
      for (const l of local()) if (l.pending.size === 0 && !this.cluster?.busy(l.listenerId)) l.close(1001, 'Relay node draining: connect to another node');
      const calls = this.router.pendingRequests.size + this.router.pendingAccepts.size;
      const left = local().length;
      if (left === 0 && calls === 0) break;
      if (clock.now() >= deadline) {
        this.#log.warn({ listeners: left, calls }, 'drain grace over: closing the calls and listeners left');
        break;
      }
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
    }
    await this.close();
  }

  /** Closes every listener channel, pending call and socket, then the store. */
  async close(): Promise<void> {
    this.#closing = true;
    const admin = this.#adminServer;
    if (admin?.listening) {
      await new Promise<void>((resolve) => {
        admin.close(() => resolve());
        for (const sock of this.#adminSockets) sock.destroy();
      });
    }
    this.router.close();
    this.cluster?.stop();
    this.#upgrades.close();
    this.guard.tarpit.close();
    const netTcpClosed = this.netTcp?.close();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections?.();
      setTimeout(() => {
        for (const s of this.#sockets) s.destroy();
      }, 200).unref();
    });
    await netTcpClosed;
    this.#stopWatch?.();
    await this.store.close();
    this.#log.info('relay closed');
  }
}

export function createRelayServer(options: RelayOptionsInput): RelayServer {
  return new RelayServer(options);
}

/**
 * Pending-connection queue of the public ports (the kernel caps it at net.core.somaxconn, 4096 on
 * current Linux). Node's default, 511, overflows under a connection flood: the kernel then drops
 * SYNs, and a caller that opens a connection per call waits out a 1 s SYN retransmit.
 */
export const LISTEN_BACKLOG = 4096;

/** Where other relay nodes reach this one by default: the bound address, or this machine's name when bound to every interface. */
function internalUrlOf(config: RelayConfig, port: number): string {
  const any = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
  const host = any ? os.hostname() : config.host;
  return `${config.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** 127.0.0.0/8, ::1 and localhost: a relay bound there is reachable from this machine only. */
function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
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
 * - a non-loopback bind address without `publicUrl` or `audienceHosts`: tokens are then checked
 *   against this machine's own names only (never a caller's Host), so tokens minted for the name
 *   clients really use (a DNS name, a load balancer) are refused until one of them is set;
 * - no namespace rule and no entity rule: no agent can listen and no one can manage.
 */
async function warnAboutStartConfig(config: RelayConfig, store: Store, port: number, log: { warn(o: object, m: string): void }): Promise<void> {
  if (!config.publicUrl && config.audienceHosts === undefined && !isLoopbackHost(config.host)) {
    log.warn(
      { host: config.host, publicUrl: null, audienceHosts: null },
      `SECURITY: the relay listens on ${config.host || 'all interfaces'} without publicUrl or audienceHosts: token audiences are checked against this machine's own names (localhost, its host name and addresses) only, so tokens minted for the name clients use are refused; set publicUrl (the URL clients and agents use) or audienceHosts`,
    );
  }
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
