/**
 * The entity store on NATS JetStream KV, for several relay nodes acting as one namespace
 * (`store: { type: nats, servers, bucket }`). Client: the official `@nats-io/transport-node` and
 * `@nats-io/kv` (v3).
 *
 * Layout of the bucket (`bucket`, default `relaybridge`; keys are limited to [-/_=.A-Za-z0-9], so
 * paths appear base64url-encoded, lower-cased: paths compare case-insensitively):
 *   entity.<path>                  one hybrid connection (JSON, as the file store writes it)
 *   namespace-rules                the namespace rules (a JSON list, insertion order)
 *   doc.<path>.<sha256 of the key> a metadata document (JSON, body in base64)
 * and of `<bucket>-listeners` (a bucket whose entries expire after listenerTtlMs):
 *   l.<path>.<listenerId>          a listener record, re-written by its node every listenerTtlMs/3,
 *                                  so the records of a node that died vanish on their own.
 *
 * Every mutation is a read, a change and a revision-checked write (compare-and-set), retried
 * from the read when another writer (another node) got there first: concurrent writes from
 * several nodes lose no update. A change that the checks refuse changes nothing. A write the
 * server did not confirm (NATS unreachable) fails with RELAY_ERR_STORE_IO; if it timed out after
 * being sent it may still have been applied, as with any remote store.
 *
 * watch() reports every change made through any node (entities, namespace rules), resuming from
 * the last revision seen after a reconnect, and `reset` when it had to start over (the caller
 * then drops its caches rather than trust them).
 *
 * The connection retries forever (the process keeps running while NATS is away); open() waits
 * for the first connection.
 */
import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { type Clock, systemClock } from '../core/clock';
import type { AuthorizationRule, HybridConnection, ListenerRecord } from '../core/entities';
import { ConfigError, RelayError } from '../core/errors';
import type { Logger } from '../core/logger';
import { TurnGate } from '../core/turn-gate';
import { applyPatch, copyEntity, exists, key, newEntityState, notFound, parseEntityState, putRule, upsertInto, type EntityState } from './entity-state';
import type { EntityInput, EntityPatch, Messaging, Store, StoreChange, StoredDocument } from './store';
import { MAX_RULES_PER_ENTITY, MAX_RULES_PER_NAMESPACE, assertValid, copyRule, entityFieldIssues, ruleIssues, rulesIssues } from './validate';

export interface NatsStoreOptions {
  /** NATS servers, e.g. ['nats://10.0.0.7:4222', 'nats://10.0.0.8:4222']. */
  readonly servers: readonly string[];
  /** KV bucket; default `relaybridge` (listeners in `<bucket>-listeners`). */
  readonly bucket?: string;
  /** Replicas of the buckets when this node creates them (3 on a NATS cluster of three). Default 1. */
  readonly replicas?: number;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** TLS to NATS: PEM texts (the CLI reads the files). */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** This node's connection name (seen in NATS monitoring). */
  readonly name?: string;
  /** How long a listener record outlives its node, ms. Default 30 s. */
  readonly listenerTtlMs?: number;
  /** Time per NATS request, ms. Default 5000. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  /** Says when NATS is not reachable at start and open() keeps trying. */
  readonly log?: Logger;
}

/** NATS refused this node (credentials, certificate): a configuration to fix, not an outage to wait out. */
const REFUSED = /authoriz|authenticat|permissions violation|certificate|self[- ]signed|unable to verify|CERT_|ERR_TLS|wrong version number/i;

const NAMESPACE_RULES = 'namespace-rules';
/** Compare-and-set attempts before a mutation gives up (only under heavy contention on one key). */
const MAX_ATTEMPTS = 50;

const enc = (text: string): string => Buffer.from(text, 'utf8').toString('base64url') || '_';
const entityKey = (path: string): string => `entity.${enc(key(path))}`;
const docPrefix = (path: string): string => `doc.${enc(key(path))}`;
const docKey = (path: string, k: string): string => `${docPrefix(path)}.${createHash('sha256').update(k).digest('hex')}`;
const listenerPrefix = (path: string): string => `l.${enc(key(path))}`;
const listenerKey = (path: string, id: string): string => `${listenerPrefix(path)}.${enc(id)}`;

/** Another writer changed the key since it was read (compare-and-set lost). */
function isConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * A failure as the store's error: the server refused the operation (RELAY_ERR_STORE_IO), or NATS
 * could not be reached or did not answer in time (RELAY_ERR_STORE_UNAVAILABLE, HTTP 503).
 */
function storeError(what: string, err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  const message = (err as Error).message;
  if (err instanceof JetStreamApiError) return new RelayError('RELAY_ERR_STORE_IO', `The NATS store could not ${what}: ${message}.`, { cause: err });
  return new RelayError('RELAY_ERR_STORE_UNAVAILABLE', `The NATS store is unreachable, so this node could not ${what} (${message}); try again once NATS is back.`, { cause: err });
}

export class NatsStore implements Store {
  readonly #o: NatsStoreOptions;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  #nc: Awaited<ReturnType<typeof connect>> | undefined;
  /** The messaging of the current connection (messaging()). */
  #messaging: { nc: Awaited<ReturnType<typeof connect>>; messaging: Messaging } | undefined;
  #kv: KV | undefined;
  #listenersKv: KV | undefined;
  /** This node's listener records, re-written before they expire. */
  readonly #mine = new Map<string, ListenerRecord & { order: number }>();
  #order = 0;
  #refresh: NodeJS.Timeout | undefined;
  /** False while the connection to NATS is down (between `disconnect` and `reconnect`). */
  #connected = false;
  readonly #watchers = new Set<{ stop(): void; reset(): void }>();

  constructor(options: NatsStoreOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#ttlMs = options.listenerTtlMs ?? 30_000;
  }

  get #bucket(): string {
    return this.#o.bucket ?? 'relaybridge';
  }

  async open(): Promise<void> {
    const o = this.#o;
    this.#nc = await this.#connect();
    try {
      const kvm = new Kvm(this.#nc);
      const replicas = o.replicas ?? 1;
      this.#kv = await kvm.create(this.#bucket, { history: 5, replicas, timeout: o.timeoutMs ?? 5000 });
      this.#listenersKv = await kvm.create(`${this.#bucket}-listeners`, { history: 1, replicas, ttl: this.#ttlMs, timeout: o.timeoutMs ?? 5000 });
    } catch (err) {
      await this.#nc?.close().catch(() => undefined);
      this.#nc = undefined;
      throw storeError(`open bucket '${this.#bucket}' at ${o.servers.join(', ')}`, err);
    }
    this.#refresh = setInterval(() => void this.#rewriteListeners(), Math.max(1000, Math.floor(this.#ttlMs / 3)));
    this.#refresh.unref();
    this.#connected = true;
    void this.#followStatus(this.#nc);
  }

  /**
   * The first connection: tried again with backoff (up to 10 s apart), for as long as it takes,
   * while NATS is unreachable, saying so in the log; a refusal (credentials, certificate) is a
   * configuration error, thrown at once. Once connected, the client reconnects on its own.
   */
  async #connect(): Promise<NonNullable<NatsStore['nc']>> {
    const o = this.#o;
    let delay = 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await connect({
          servers: [...o.servers],
          name: o.name ?? 'relaybridge',
          user: o.user,
          pass: o.pass,
          token: o.token,
          tls: o.tls ? { ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key } : undefined,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1000,
          timeout: o.timeoutMs ?? 5000,
        });
      } catch (err) {
        const text = `${(err as Error).name ?? ''} ${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
        if (REFUSED.test(text)) {
          throw new ConfigError('invalid store', [
            `store: NATS at ${o.servers.join(', ')} refused this node (${(err as Error).message}): check store.user/pass/token and store.tls`,
          ]);
        }
        o.log?.warn({ servers: o.servers, err: (err as Error).message, attempt, retryInMs: delay }, 'NATS is not reachable yet; trying again');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  /**
   * After a reconnect, watchers are told to drop their caches (changes may have happened while
   * this node was cut off, even though the watch itself resumes), and this node's listener
   * records are written again at once (they may have expired meanwhile).
   */
  async #followStatus(nc: NonNullable<NatsStore['nc']>): Promise<void> {
    for await (const st of nc.status()) {
      if (st.type === 'disconnect') this.#connected = false;
      if (st.type !== 'reconnect') continue;
      this.#connected = true;
      for (const w of this.#watchers) w.reset();
      void this.#rewriteListeners();
    }
  }

  /** True while connected to NATS. */
  get connected(): boolean {
    return this.#connected;
  }

  /** The connection (tests, diagnostics); undefined until open(). */
  get nc(): Awaited<ReturnType<typeof connect>> | undefined {
    return this.#nc;
  }

  async close(): Promise<void> {
    clearInterval(this.#refresh);
    for (const w of this.#watchers) w.stop();
    this.#watchers.clear();
    // Our listener records go at once (other nodes need not wait for them to expire).
    if (this.#connected) await Promise.all([...this.#mine.values()].map((r) => this.#listenersKv?.purge(listenerKey(r.path, r.listenerId)).catch(() => undefined)));
    this.#mine.clear();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc && !nc.isClosed()) {
      // Drain (pending writes flushed) when NATS is there; a connection that cannot drain (NATS
      // away) is closed outright, so no reconnect attempt outlives the store.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
      await Promise.race([nc.drain().catch(() => undefined), gaveUp]);
      clearTimeout(timer);
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    }
  }

  get #store(): KV {
    if (!this.#kv) throw new RelayError('RELAY_ERR_STORE_IO', 'The NATS store is not open; call open() first.');
    return this.#kv;
  }

  /** Fails at once while NATS is away (instead of waiting out the request timeout). */
  #assertConnected(what: string): void {
    if (!this.#connected) throw new RelayError('RELAY_ERR_STORE_UNAVAILABLE', `The NATS store is unreachable, so this node could not ${what}; try again once NATS is back.`);
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  // --- entities -----------------------------------------------------------------------------

  async #readEntity(path: string): Promise<{ entity: EntityState; revision: number } | { entity: undefined; revision: number }> {
    let e: KvEntry | null;
    this.#assertConnected('read an entity');
    try {
      e = await this.#store.get(entityKey(path));
    } catch (err) {
      throw storeError('read an entity', err);
    }
    if (!e || e.operation !== 'PUT') return { entity: undefined, revision: e?.revision ?? 0 };
    return { entity: this.#decodeEntity(e), revision: e.revision };
  }

  #decodeEntity(e: KvEntry): EntityState {
    let raw: unknown;
    try {
      raw = e.json();
    } catch {
      raw = undefined;
    }
    const parsed = parseEntityState(raw, e.key);
    if (!parsed.entity) throw new RelayError('RELAY_ERR_STORE_IO', `The NATS store holds a corrupt entity (${parsed.issues.slice(0, 3).join('; ')}).`);
    return parsed.entity;
  }

  async getEntity(path: string): Promise<HybridConnection | undefined> {
    if (typeof path !== 'string') return undefined;
    const { entity } = await this.#readEntity(path);
    return entity && copyEntity(entity);
  }

  async listEntities(): Promise<HybridConnection[]> {
    const out: EntityState[] = [];
    this.#assertConnected('list entities');
    try {
      const keys = await this.#store.keys('entity.>');
      const names: string[] = [];
      for await (const k of keys) names.push(k);
      for (const k of names) {
        const e = await this.#store.get(k);
        if (e && e.operation === 'PUT') out.push(this.#decodeEntity(e));
      }
    } catch (err) {
      throw storeError('list entities', err);
    }
    return out.sort((a, b) => (key(a.path) < key(b.path) ? -1 : key(a.path) > key(b.path) ? 1 : 0)).map(copyEntity);
  }

  /**
   * One entity mutation: read, `change` (may throw to refuse; returns what to write, or null
   * to write nothing), revision-checked write, again from the read if another writer won.
   */
  async #mutateEntity<T>(path: string, change: (current: EntityState | undefined) => { next: EntityState | null | 'delete'; result: T }): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { entity, revision } = await this.#readEntity(path);
      const { next, result } = change(entity);
      if (next === null) return result;
      try {
        const k = entityKey(next === 'delete' ? path : next.path);
        if (next === 'delete') await this.#store.delete(k, { previousSeq: revision });
        else if (entity === undefined) await this.#store.create(k, JSON.stringify(next));
        else await this.#store.update(k, JSON.stringify(next), revision);
        return result;
      } catch (err) {
        if (isConflict(err) && attempt < MAX_ATTEMPTS) continue;
        throw storeError('write an entity', err);
      }
    }
  }

  async createEntity(input: EntityInput): Promise<HybridConnection> {
    const fresh = newEntityState(input, this.#now());
    return this.#mutateEntity(fresh.path, (current) => {
      if (current) throw exists(fresh.path);
      return { next: fresh, result: copyEntity(fresh) };
    });
  }

  async updateEntity(path: string, patch: EntityPatch): Promise<HybridConnection> {
    if (typeof path !== 'string') throw notFound(String(path));
    assertValid('hybrid connection update', entityFieldIssues(patch ?? {}));
    return this.#mutateEntity(path, (current) => {
      if (!current) throw notFound(path);
      applyPatch(current, patch ?? {}, this.#now());
      return { next: current, result: copyEntity(current) };
    });
  }

  async upsertEntity(input: EntityInput): Promise<HybridConnection> {
    const fresh = newEntityState(input, this.#now());
    return this.#mutateEntity(fresh.path, (current) => {
      if (!current) return { next: fresh, result: copyEntity(fresh) };
      upsertInto(current, input, this.#now());
      return { next: current, result: copyEntity(current) };
    });
  }

  async deleteEntity(path: string): Promise<boolean> {
    if (typeof path !== 'string') return false;
    const deleted = await this.#mutateEntity(path, (current) => (current ? { next: 'delete', result: true } : { next: null, result: false }));
    if (deleted) {
      // Its documents are a cache: a failure here only leaves them to be overwritten or ignored.
      try {
        const keys = await this.#store.keys(`${docPrefix(path)}.>`);
        const names: string[] = [];
        for await (const k of keys) names.push(k);
        await Promise.all(names.map((k) => this.#store.purge(k)));
      } catch {
        /* best effort */
      }
    }
    return deleted;
  }

  async putEntityRule(path: string, rule: AuthorizationRule): Promise<void> {
    if (typeof path !== 'string') throw notFound(String(path));
    assertValid('authorization rule', ruleIssues(rule, 'rule'));
    await this.#mutateEntity(path, (current) => {
      if (!current) throw notFound(path);
      current.authorizationRules = putRule(current.authorizationRules, rule, MAX_RULES_PER_ENTITY, 'authorizationRules');
      current.updatedAt = this.#now();
      return { next: current, result: undefined };
    });
  }

  async deleteEntityRule(path: string, keyName: string): Promise<boolean> {
    if (typeof path !== 'string') return false;
    return this.#mutateEntity(path, (current) => {
      const i = current ? current.authorizationRules.findIndex((r) => r.keyName === keyName) : -1;
      if (!current || i === -1) return { next: null, result: false };
      current.authorizationRules = current.authorizationRules.filter((_, j) => j !== i);
      current.updatedAt = this.#now();
      return { next: current, result: true };
    });
  }

  // --- namespace rules ----------------------------------------------------------------------

  async #readNamespaceRules(): Promise<{ rules: AuthorizationRule[]; revision: number; present: boolean }> {
    let e: KvEntry | null;
    this.#assertConnected('read the namespace rules');
    try {
      e = await this.#store.get(NAMESPACE_RULES);
    } catch (err) {
      throw storeError('read the namespace rules', err);
    }
    if (!e || e.operation !== 'PUT') return { rules: [], revision: e?.revision ?? 0, present: false };
    let raw: unknown;
    try {
      raw = e.json();
    } catch {
      raw = undefined;
    }
    const issues = rulesIssues(raw, MAX_RULES_PER_NAMESPACE, 'namespaceRules');
    if (issues.length) throw new RelayError('RELAY_ERR_STORE_IO', `The NATS store holds corrupt namespace rules (${issues.slice(0, 3).join('; ')}).`);
    return { rules: (raw as AuthorizationRule[]).map(copyRule), revision: e.revision, present: true };
  }

  async #mutateNamespaceRules<T>(change: (rules: AuthorizationRule[]) => { next: AuthorizationRule[] | null; result: T }): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { rules, revision, present } = await this.#readNamespaceRules();
      const { next, result } = change(rules);
      if (next === null) return result;
      try {
        if (present) await this.#store.update(NAMESPACE_RULES, JSON.stringify(next), revision);
        else await this.#store.create(NAMESPACE_RULES, JSON.stringify(next));
        return result;
      } catch (err) {
        if (isConflict(err) && attempt < MAX_ATTEMPTS) continue;
        throw storeError('write the namespace rules', err);
      }
    }
  }

  async listNamespaceRules(): Promise<AuthorizationRule[]> {
    return (await this.#readNamespaceRules()).rules;
  }

  async putNamespaceRule(rule: AuthorizationRule): Promise<void> {
    assertValid('authorization rule', ruleIssues(rule, 'rule'));
    await this.#mutateNamespaceRules((rules) => ({ next: putRule(rules, rule, MAX_RULES_PER_NAMESPACE, 'namespaceRules'), result: undefined }));
  }

  async deleteNamespaceRule(keyName: string): Promise<boolean> {
    return this.#mutateNamespaceRules((rules) => {
      const next = rules.filter((r) => r.keyName !== keyName);
      return next.length === rules.length ? { next: null, result: false } : { next, result: true };
    });
  }

  // --- listeners (namespace-wide, expiring) ---------------------------------------------------

  get #listeners(): KV {
    if (!this.#listenersKv) throw new RelayError('RELAY_ERR_STORE_IO', 'The NATS store is not open; call open() first.');
    return this.#listenersKv;
  }

  /**
   * Records a listener of this node. While NATS is unreachable the record is kept here and
   * written once it is back (the node keeps serving its own listeners meanwhile).
   */
  async registerListener(rec: ListenerRecord): Promise<void> {
    const k = listenerKey(rec.path, rec.listenerId);
    // Re-registration moves it to the end (registration order).
    const stored = { ...rec, order: this.#clock.now() * 1000 + (this.#order++ % 1000) };
    this.#mine.set(k, stored);
    if (!this.#connected) return; // written by #rewriteListeners on reconnect
    try {
      await this.#listeners.put(k, JSON.stringify(stored));
    } catch (err) {
      const e = storeError('register a listener', err);
      if (e.code !== 'RELAY_ERR_STORE_UNAVAILABLE') {
        this.#mine.delete(k);
        throw e;
      }
    }
  }

  /** Removes a listener of this node (while NATS is away, its record expires on its own). */
  async unregisterListener(path: string, listenerId: string): Promise<void> {
    const k = listenerKey(path, listenerId);
    this.#mine.delete(k);
    await this.#listeners.purge(k).catch(() => undefined);
  }

  async listListeners(path: string): Promise<ListenerRecord[]> {
    const out: Array<ListenerRecord & { order: number }> = [];
    this.#assertConnected('list listeners');
    try {
      const keys = await this.#listeners.keys(`${listenerPrefix(path)}.>`);
      const names: string[] = [];
      for await (const k of keys) names.push(k);
      for (const k of names) {
        const e = await this.#listeners.get(k);
        if (!e || e.operation !== 'PUT') continue;
        const r = e.json<ListenerRecord & { order: number }>();
        if (r && typeof r.listenerId === 'string' && typeof r.path === 'string') out.push(r);
      }
    } catch (err) {
      throw storeError('list listeners', err);
    }
    return out.sort((a, b) => a.order - b.order).map(({ order: _order, ...r }) => r);
  }

  async countListeners(path: string): Promise<number> {
    return (await this.listListeners(path)).length;
  }

  /** Re-writes this node's listener records before they expire (a failure is retried next round). */
  async #rewriteListeners(): Promise<void> {
    for (const [k, r] of this.#mine) await this.#listenersKv?.put(k, JSON.stringify(r)).catch(() => undefined);
  }

  // --- metadata documents (a cache: failures never throw) ------------------------------------

  async getDocument(path: string, k: string): Promise<StoredDocument | undefined> {
    try {
      const e = await this.#store.get(docKey(path, k));
      if (!e || e.operation !== 'PUT') return undefined;
      const o = e.json<{ path: string; key: string; contentType: string; storedAt: number; body: string }>();
      if (key(o.path) !== key(path) || o.key !== k || typeof o.body !== 'string') return undefined;
      return { body: Buffer.from(o.body, 'base64'), contentType: String(o.contentType), storedAt: Number(o.storedAt) };
    } catch {
      return undefined;
    }
  }

  async putDocument(path: string, k: string, doc: StoredDocument): Promise<void> {
    try {
      await this.#store.put(docKey(path, k), JSON.stringify({ path, key: k, contentType: doc.contentType, storedAt: doc.storedAt, body: doc.body.toString('base64') }));
    } catch {
      /* a cache: the document is fetched from the agent again */
    }
  }

  // --- messages between nodes ---------------------------------------------------------------

  /** Core NATS subjects under `relaybridge.<bucket>.` (no JetStream: at most once, low latency). */
  messaging(): Messaging | undefined {
    const nc = this.#nc;
    if (!nc) return undefined;
    // One per connection: every publish goes through the same turn gate, so their order holds.
    const current = this.#messaging;
    if (current && current.nc === nc) return current.messaging;
    const prefix = `relaybridge.${this.#bucket}`;
    // A busy turn's messages after the first go out together at its end (core/turn-gate.ts):
    // published in one run, nats.js writes them in one socket write.
    let held: Array<[string, Uint8Array]> = [];
    const gate = new TurnGate(() => {
      const out = held;
      held = [];
      for (const [subject, data] of out) {
        if (nc.isClosed()) return;
        try {
          nc.publish(subject, data);
        } catch {
          return; // draining (this node is stopping): dropped, as an unreachable peer would drop it
        }
      }
    });
    const messaging: Messaging = {
      namespace: prefix,
      // The server's limit (default 1 MB); the cluster splits larger messages.
      get maxPayload(): number {
        return nc.info?.max_payload ?? 1024 * 1024;
      },
      publish: (subject, data) => {
        // A closed connection (shutdown) drops it, as an unreachable peer would.
        if (nc.isClosed()) return;
        // Every turn with a message is watched: the store cannot tell whether calls are in flight.
        if (gate.admit(true) === 'now') nc.publish(`${prefix}.${subject}`, data);
        else held.push([`${prefix}.${subject}`, data]);
      },
      subscribe: (subject, onMessage) => {
        const sub = nc.subscribe(`${prefix}.${subject}`, { callback: (err: Error | null, msg: { data: Uint8Array }) => (err ? undefined : onMessage(msg.data)) });
        return () => sub.unsubscribe();
      },
    };
    this.#messaging = { nc, messaging };
    return messaging;
  }

  // --- changes from every node -----------------------------------------------------------------

  /**
   * Calls `onChange` for each change to entities and namespace rules from now on, made through
   * any node (this one included). After a reconnect it resumes from the last revision it saw;
   * `reset` means changes may have been missed: drop every cache. Returns a stop function.
   */
  watch(onChange: (change: StoreChange) => void): () => void {
    let stopped = false;
    let lastRevision = 0;
    let current: { stop(): void } | undefined;
    const run = async (): Promise<void> => {
      while (!stopped) {
        try {
          const kv = this.#store;
          // One filter subject for the whole bucket (a list of filters needs nats-server 2.10).
          const iter = await kv.watch({
            key: '>',
            ...(lastRevision > 0 ? { resumeFromRevision: lastRevision + 1 } : { include: 'updates' as const }),
          });
          current = { stop: () => iter.stop() };
          for await (const e of iter) {
            lastRevision = Math.max(lastRevision, e.revision);
            if (e.key === NAMESPACE_RULES) onChange({ kind: 'namespaceRules' });
            else if (e.key.startsWith('entity.')) onChange({ kind: 'entity', path: Buffer.from(e.key.slice('entity.'.length), 'base64url').toString('utf8'), deleted: e.operation !== 'PUT' });
          }
        } catch {
          /* the connection went away: start over below */
        }
        if (stopped) return;
        // The watch ended (a reconnect, a server restart): changes may have been missed.
        onChange({ kind: 'reset' });
        await new Promise((r) => setTimeout(r, 500).unref());
      }
    };
    const handle = {
      stop: () => {
        stopped = true;
        current?.stop();
      },
      reset: () => onChange({ kind: 'reset' }),
    };
    this.#watchers.add(handle);
    void run();
    return () => {
      handle.stop();
      this.#watchers.delete(handle);
    };
  }
}
