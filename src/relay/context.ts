/**
 * What every relay endpoint shares: config, store, the router (routing/: listener registry,
 * pending requests and accepts), authorization and entity lookup. Built once by relay-server.ts.
 */
import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { IncomingHttpHeaders } from 'node:http';
import { authorize, extractToken, type AuthorizeResult } from '../auth';
import { EndpointNotFoundError, ProtocolError } from '../core/errors';
import type { HybridConnection, Right } from '../core/entities';
import type { Logger } from '../core/logger';
import type { Store } from '../store/store';
import { targetPathProblem } from './http/http-headers';
import type { RelayMetrics } from './metrics';
import type { RelayConfig } from './options';
import type { ListenerRegistry } from './routing/listener-registry';
import type { PendingAccept } from './routing/pending-accept';
import type { PendingRequest, RouteListener } from './routing/pending-request';
import { Router } from './routing/router';
import { ClientAddressResolver } from './guard/client-address';
import { PreAuthSlots } from './guard/pre-auth-slots';

/** How long an entity lookup is reused, ms. */
const ENTITY_CACHE_MS = 1000;
/** Longest a verified token verdict is reused, ms (it never outlives the token). */
const AUTH_CACHE_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;

export class RelayContext {
  readonly config: RelayConfig;
  readonly store: Store;
  readonly log: Logger;
  /** Every relayed call goes through it (routing/router.ts). */
  readonly router: Router;
  readonly metrics: RelayMetrics;
  /** Caller addresses (trustedProxies, X-Forwarded-For) for throttles and caps. */
  readonly clientAddresses: ClientAddressResolver;
  /** Caps on callers that have not authorized yet (limits.maxUnauthenticated*). */
  readonly preAuthSlots: PreAuthSlots;
  #tls = false;
  readonly #entityCache = new Map<string, { entity: HybridConnection | undefined; until: number }>();
  readonly #authCache = new Map<string, { result: AuthorizeResult; until: number }>();

  constructor(config: RelayConfig, store: Store, metrics: RelayMetrics) {
    this.config = config;
    this.store = store;
    this.log = config.logger;
    this.metrics = metrics;
    this.router = new Router({
      limits: config.limits,
      store,
      metrics,
      clock: config.clock,
      random: config.random,
      log: config.logger,
      newId: () => randomUUID(),
      rendezvousBase: (host) => this.rendezvousBase(host),
      describe: (message, path) => this.describe(message, path),
    });
    this.clientAddresses = new ClientAddressResolver(config.trustedProxies);
    this.preAuthSlots = new PreAuthSlots({ perAddress: config.limits.maxUnauthenticatedPerAddress, total: config.limits.maxUnauthenticated });
  }

  /** The router's listener registry (management, status). */
  get registry(): ListenerRegistry<RouteListener> {
    return this.router.registry;
  }

  get pendingRequests(): ReadonlyMap<string, PendingRequest> {
    return this.router.pendingRequests;
  }

  get pendingAccepts(): ReadonlyMap<string, PendingAccept> {
    return this.router.pendingAccepts;
  }

  set tls(v: boolean) {
    this.#tls = v;
  }

  get tls(): boolean {
    return this.#tls;
  }

  newId(): string {
    return randomUUID();
  }

  /**
   * The entity a request path belongs to: the longest prefix of its segments that is an entity
   * (`/orders/v1/x` → `orders/v1` when that exists, else `orders`).
   */
  async resolveEntity(pathname: string): Promise<{ entity: HybridConnection; suffix: string } | undefined> {
    // A bad escape or a dot segment is refused (400) before any lookup: never routed, never forwarded.
    const problem = targetPathProblem(pathname);
    if (problem) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_TARGET', `Bad request target: ${problem}.`);
    const decoded = decodeURIComponent(pathname);
    const segments = decoded.split('/').filter(Boolean);
    for (let n = Math.min(segments.length, 16); n > 0; n--) {
      const candidate = segments.slice(0, n).join('/');
      if (candidate.startsWith('$')) return undefined;
      const entity = await this.getEntity(candidate);
      if (entity) return { entity, suffix: segments.slice(n).join('/') };
    }
    return undefined;
  }

  /**
   * Entity lookup with a short-lived cache (hot path: every call). Local management changes
   * invalidate it at once; changes made through another node show within ENTITY_CACHE_MS.
   */
  async getEntity(path: string): Promise<HybridConnection | undefined> {
    const key = path.toLowerCase();
    const now = this.config.clock.now();
    const hit = this.#entityCache.get(key);
    if (hit && hit.until > now) return hit.entity;
    const entity = await this.store.getEntity(path);
    if (this.#entityCache.size >= CACHE_MAX_ENTRIES) this.#entityCache.clear();
    this.#entityCache.set(key, { entity, until: now + ENTITY_CACHE_MS });
    return entity;
  }

  /** Drops cached entities and token verdicts (after any management change). */
  invalidateCaches(): void {
    this.#entityCache.clear();
    this.#authCache.clear();
  }

  /**
   * Checks a caller's token for a right on an entity. Senders on entities with
   * requiresClientAuthorization=false pass without a token.
   */
  async authorize(
    entity: HybridConnection,
    right: Right,
    headers: IncomingHttpHeaders,
    query: URLSearchParams | undefined,
  ): Promise<{ result?: AuthorizeResult; source?: string }> {
    const { token, source } = extractToken({ headers, query });
    if (right === 'Send' && !entity.requiresClientAuthorization) return { source };
    const result = this.authorizeToken(entity, right, token, headers.host);
    return { result, source };
  }

  /**
   * @param hostHeader the Host the request came in on: with neither `audienceHosts` nor
   *   `publicUrl` configured, a token naming that host is accepted too (see {@link audienceHosts}).
   */
  authorizeToken(entity: HybridConnection, right: Right, token: string | undefined, hostHeader?: string): AuthorizeResult {
    // A verified token is remembered (bounded, until its expiry or AUTH_CACHE_MS) so the HMAC
    // and parsing are not redone on every call; failures are never cached.
    const now = this.config.clock.now();
    const hosts = this.audienceHosts(hostHeader);
    const cacheKey = token ? `${right}\n${entity.path.toLowerCase()}\n${hosts === '*' ? '*' : hosts.join(',')}\n${token}` : undefined;
    if (cacheKey) {
      const hit = this.#authCache.get(cacheKey);
      if (hit && hit.until > now) return hit.result;
    }
    const result = this.#verify(entity, right, token, hosts);
    if (cacheKey) {
      const expiry = (result.expiresAt + this.config.tokenGraceSeconds) * 1000;
      if (this.#authCache.size >= CACHE_MAX_ENTRIES) this.#authCache.clear();
      this.#authCache.set(cacheKey, { result, until: Math.min(expiry, now + AUTH_CACHE_MS) });
    }
    return result;
  }

  #ownHosts: readonly string[] | undefined;

  /**
   * Host names a token's audience (`sr`) may name. `audienceHosts` when configured ('*' = any).
   * Else, with `publicUrl`: its host (and `netTcp.publicUrl`'s). Else the names this machine is
   * reached by directly (localhost, loopback, the bind address, the host name, interface
   * addresses) plus the Host header of the request being authorized, when the endpoint knows it:
   * a token minted for another relay or namespace is refused, but only `publicUrl` or
   * `audienceHosts` make the check independent of what the caller writes in Host.
   */
  audienceHosts(hostHeader?: string): readonly string[] | '*' {
    const configured = this.config.audienceHosts;
    if (configured !== undefined) return configured;
    if (this.config.publicUrl) {
      const net = this.config.netTcp?.publicUrl;
      return [new URL(this.config.publicUrl).hostname, ...(net ? [new URL(net.replace(/^net\.tcp:/i, 'http:')).hostname] : [])];
    }
    this.#ownHosts ??= localHostNames(this.config.host);
    const host = hostHeader?.trim().toLowerCase();
    return host && !this.#ownHosts.includes(host.replace(/:\d+$/, '')) ? [...this.#ownHosts, host] : this.#ownHosts;
  }

  #verify(entity: HybridConnection, right: Right, token: string | undefined, hosts: readonly string[] | '*'): AuthorizeResult {
    return authorize({
      token,
      path: entity.path,
      right,
      namespaceRules: this.namespaceRules,
      entityRules: entity.authorizationRules,
      hosts,
      clock: this.config.clock,
      graceSeconds: this.config.tokenGraceSeconds,
    });
  }

  /** Namespace rules, cached from the store (refreshed by the management API). */
  namespaceRules: readonly import('../core/entities').AuthorizationRule[] = [];

  async refreshNamespaceRules(): Promise<void> {
    this.namespaceRules = await this.store.listNamespaceRules();
    this.invalidateCaches();
  }

  /** Base ws(s) URL for rendezvous addresses, from publicUrl or the listener's own Host. */
  rendezvousBase(hostHeader: string | undefined): string {
    if (this.config.publicUrl) return this.config.publicUrl.replace(/^http/i, 'ws').replace(/\/+$/, '');
    return `${this.#tls ? 'wss' : 'ws'}://${hostHeader ?? 'localhost'}`;
  }

  /** Azure-style error text with a tracking id. */
  describe(message: string, path?: string): string {
    const tracker = path ? `, SystemTracker:${path}` : '';
    return `${message} TrackingId:${randomUUID()}${tracker}, Timestamp:${new Date(this.config.clock.now()).toISOString()}`;
  }

  endpointNotFound(path: string): EndpointNotFoundError {
    return new EndpointNotFoundError('RELAY_ERR_ENTITY_NOT_FOUND', this.describe('Endpoint does not exist.', path));
  }
}

/** The names this machine answers to directly, lower-case, without brackets or ports. */
function localHostNames(bindHost: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname().toLowerCase()]);
  if (bindHost && bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.toLowerCase().replace(/^\[|\]$/g, ''));
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.add(i.address.toLowerCase());
  return [...names];
}

export { httpFormOf } from './http/json-error';
