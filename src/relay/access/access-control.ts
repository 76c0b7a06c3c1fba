/**
 * Access control for every relay endpoint: which entity a request path names (a short-lived,
 * bounded cache over the store), whether a caller's token grants a right on it (verdicts cached
 * until their expiry), and the namespace rules those checks use. Token cryptography is auth/'s;
 * per-operation rules are operation-rules.ts. Built once by relay-server.ts; the management
 * endpoint invalidates its caches after a change, and so do changes made through other nodes
 * (Store.watch, relay-server.ts). A shared store that is away (RELAY_ERR_STORE_UNAVAILABLE)
 * leaves the last known answers standing: the node keeps serving its own listeners.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { IncomingHttpHeaders } from 'node:http';
import { authorize, extractToken, type AuthorizeResult } from '../../auth';
import { EndpointNotFoundError, ProtocolError, RelayError } from '../../core/errors';
import type { AuthorizationRule, HybridConnection, Right } from '../../core/entities';
import type { Store } from '../../store/store';
import { targetPathProblem } from '../http/http-headers';
import type { Describe } from '../http/tracking';
import type { RelayConfig } from '../options';

export interface AccessControlOptions {
  readonly config: RelayConfig;
  readonly store: Store;
  readonly describe: Describe;
}

/** How long an entity lookup is reused, ms. */
const ENTITY_CACHE_MS = 1000;
/** Longest a verified token verdict is reused, ms (it never outlives the token). */
const AUTH_CACHE_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;

export class AccessControl {
  readonly #config: RelayConfig;
  readonly #store: Store;
  readonly #describe: Describe;
  readonly #entityCache = new Map<string, { entity: HybridConnection | undefined; until: number }>();
  readonly #authCache = new Map<string, { result: AuthorizeResult; until: number }>();
  #namespaceRules: readonly AuthorizationRule[] = [];

  constructor(options: AccessControlOptions) {
    this.#config = options.config;
    this.#store = options.store;
    this.#describe = options.describe;
  }

  /** Namespace rules, cached from the store (refreshed after every management change). */
  get namespaceRules(): readonly AuthorizationRule[] {
    return this.#namespaceRules;
  }

  async refreshNamespaceRules(): Promise<void> {
    try {
      this.#namespaceRules = await this.#store.listNamespaceRules();
    } catch (err) {
      // Unreachable shared store: the rules this node has stand until it is back (a reset follows).
      if (!(err instanceof RelayError && err.code === 'RELAY_ERR_STORE_UNAVAILABLE')) throw err;
    }
    this.invalidateCaches();
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
    const now = this.#config.clock.now();
    for (let n = Math.min(segments.length, 16); n > 0; n--) {
      const candidate = segments.slice(0, n).join('/');
      if (candidate.startsWith('$')) return undefined;
      // A fresh cache entry answers without a promise per candidate (hot path: every call).
      const hit = this.#entityCache.get(candidate.toLowerCase());
      const entity = hit && hit.until > now ? hit.entity : await this.getEntity(candidate);
      if (entity) return { entity, suffix: segments.slice(n).join('/') };
    }
    return undefined;
  }

  /**
   * Entity lookup with a short-lived cache (hot path: every call). Local management changes and
   * changes reported by a shared store's watch invalidate it at once; otherwise changes show
   * within ENTITY_CACHE_MS. An expired entry is still the answer while the store is unavailable.
   */
  async getEntity(path: string): Promise<HybridConnection | undefined> {
    const key = path.toLowerCase();
    const now = this.#config.clock.now();
    const hit = this.#entityCache.get(key);
    if (hit && hit.until > now) return hit.entity;
    let entity: HybridConnection | undefined;
    try {
      entity = await this.#store.getEntity(path);
    } catch (err) {
      if (hit && err instanceof RelayError && err.code === 'RELAY_ERR_STORE_UNAVAILABLE') return hit.entity;
      throw err;
    }
    if (this.#entityCache.size >= CACHE_MAX_ENTRIES) this.#entityCache.clear();
    this.#entityCache.set(key, { entity, until: now + ENTITY_CACHE_MS });
    return entity;
  }

  /**
   * Makes every cached entity stale (read again on next use, kept as the answer while the store
   * is unavailable) and drops token verdicts: after any management change, here or elsewhere.
   */
  invalidateCaches(): void {
    for (const e of this.#entityCache.values()) e.until = 0;
    this.#authCache.clear();
  }

  /** A change to one entity made through any node: read again; a deleted one is forgotten outright. */
  entityChanged(path: string, deleted: boolean): void {
    const key = path.toLowerCase();
    if (deleted) this.#entityCache.delete(key);
    else {
      const e = this.#entityCache.get(key);
      if (e) e.until = 0;
    }
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
    const result = this.authorizeToken(entity, right, token);
    return { result, source };
  }

  /** Verifies a token for a right on an entity; throws an AuthError when it does not authorize. */
  authorizeToken(entity: HybridConnection, right: Right, token: string | undefined): AuthorizeResult {
    // A verified token is remembered (bounded, until its expiry or AUTH_CACHE_MS) so the HMAC
    // and parsing are not redone on every call; failures are never cached.
    const now = this.#config.clock.now();
    const hosts = this.audienceHosts();
    const cacheKey = token ? `${right}\n${entity.path.toLowerCase()}\n${(this.#audienceKey ??= hosts === '*' ? '*' : hosts.join(','))}\n${token}` : undefined;
    if (cacheKey) {
      const hit = this.#authCache.get(cacheKey);
      if (hit && hit.until > now) return hit.result;
    }
    const result = this.#verify(entity, right, token, hosts);
    if (cacheKey) {
      const expiry = (result.expiresAt + this.#config.tokenGraceSeconds) * 1000;
      if (this.#authCache.size >= CACHE_MAX_ENTRIES) this.#authCache.clear();
      this.#authCache.set(cacheKey, { result, until: Math.min(expiry, now + AUTH_CACHE_MS) });
    }
    return result;
  }

  #ownHosts: readonly string[] | undefined;
  /** audienceHosts() as one string, for the verdict cache's keys (configuration only: fixed). */
  #audienceKey: string | undefined;

  /**
   * Host names a token's audience (`sr`) may name, from configuration only: `audienceHosts` when
   * configured ('*' = any). Else, with `publicUrl`: its host (and `netTcp.publicUrl`'s). Else the
   * names this machine is reached by directly (localhost, loopback, the bind address, the host
   * name, interface addresses). Never a request's Host header or net.tcp Via: a caller that
   * writes another relay's name there must not make that relay's tokens valid here.
   */
  audienceHosts(): readonly string[] | '*' {
    const configured = this.#config.audienceHosts;
    if (configured !== undefined) return configured;
    if (this.#config.publicUrl) {
      const net = this.#config.netTcp?.publicUrl;
      return [new URL(this.#config.publicUrl).hostname, ...(net ? [new URL(net.replace(/^net\.tcp:/i, 'http:')).hostname] : [])];
    }
    return (this.#ownHosts ??= localHostNames(this.#config.host));
  }

  #verify(entity: HybridConnection, right: Right, token: string | undefined, hosts: readonly string[] | '*'): AuthorizeResult {
    return authorize({
      token,
      path: entity.path,
      right,
      namespaceRules: this.#namespaceRules,
      entityRules: entity.authorizationRules,
      hosts,
      clock: this.#config.clock,
      graceSeconds: this.#config.tokenGraceSeconds,
    });
  }

  endpointNotFound(path: string): EndpointNotFoundError {
    return new EndpointNotFoundError('RELAY_ERR_ENTITY_NOT_FOUND', this.#describe('Endpoint does not exist.', path));
  }
}

/** The names this machine answers to directly, lower-case, without brackets or ports. */
function localHostNames(bindHost: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname().toLowerCase()]);
  if (bindHost && bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.toLowerCase().replace(/^\[|\]$/g, ''));
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.add(i.address.toLowerCase());
  return [...names];
}

