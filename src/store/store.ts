/**
 * The entity store: hybrid connections, their authorization rules, the namespace rules, and
 * the (ephemeral) listener registry. One interface for several implementations: today the
 * embedded MemoryStore (memory only, or file-backed); for many relay nodes, NatsStore on NATS
 * JetStream KV. Every implementation runs the same contract suite
 * (test/contract/store.contract.ts). A mutation that rejects has changed nothing.
 *
 * Paths are stored as given and compared case-insensitively. Returned objects are copies:
 * changing them does not change the store.
 */
import type { AuthorizationRule, HybridConnection, ListenerRecord } from '../core/entities';

/** What creates (or, for upsert, declares) a hybrid connection. */
export interface EntityInput {
  path: string;
  /** Default true. */
  requiresClientAuthorization?: boolean;
  userMetadata?: string;
  /** Event distribution (HybridConnection.broadcast). Default false. */
  broadcast?: boolean;
  authorizationRules?: AuthorizationRule[];
}

/** Fields updateEntity may change. */
export interface EntityPatch {
  requiresClientAuthorization?: boolean;
  userMetadata?: string;
  broadcast?: boolean;
}

/** A metadata document (WSDL/XSD) as an agent returned it, kept for serving while the agent is offline. */
export interface StoredDocument {
  readonly body: Buffer;
  readonly contentType: string;
  /** When it was fetched from the agent, ms since the epoch. */
  readonly storedAt: number;
}

/** A change made through any node (Store.watch). */
export type StoreChange =
  | { readonly kind: 'entity'; /** Lower-cased. */ readonly path: string; readonly deleted: boolean }
  | { readonly kind: 'namespaceRules' }
  /** Changes may have been missed (the store reconnected): drop every cache. */
  | { readonly kind: 'reset' };

/**
 * Messages between the relay nodes sharing a store (relay/cluster): publish to a subject, and
 * subscribe to one. Delivery is at most once, in order per publisher; a subject with no
 * subscriber drops the message.
 */
export interface Messaging {
  /** Prefix for subjects, unique to this namespace (the bucket). */
  readonly namespace: string;
  /** Largest message publish() takes, bytes (NATS: the server's max_payload). */
  readonly maxPayload: number;
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, onMessage: (data: Uint8Array) => void): () => void;
}

export interface Store {
  /** Loads persisted state (if any). Call before anything else. */
  open(): Promise<void>;
  /** Waits for pending writes and releases resources. */
  close(): Promise<void>;

  /** The entity at `path` (compared case-insensitively), or undefined. */
  getEntity(path: string): Promise<HybridConnection | undefined>;
  /** All entities, sorted by path. */
  listEntities(): Promise<HybridConnection[]>;
  /**
   * Creates an entity; createdAt/updatedAt come from the store's clock.
   * @throws RelayError RELAY_ERR_ENTITY_EXISTS; ConfigError (RELAY_ERR_CONFIG_INVALID) for an invalid
   *   path, rule, or more than 12 rules.
   */
  createEntity(input: EntityInput): Promise<HybridConnection>;
  /** @throws RelayError RELAY_ERR_ENTITY_NOT_FOUND; ConfigError for an invalid patch. */
  updateEntity(path: string, patch: EntityPatch): Promise<HybridConnection>;
  /**
   * Creates the entity, or updates the given fields of an existing one (keeps createdAt). Given
   * rules are put one by one (a rule with the same keyName is replaced, others are kept), so rules
   * added at run time survive a restart that re-declares the entity from a config file.
   */
  upsertEntity(input: EntityInput): Promise<HybridConnection>;
  /** True when an entity was deleted. */
  deleteEntity(path: string): Promise<boolean>;

  /** Adds a rule or replaces the rule with the same keyName. @throws RELAY_ERR_ENTITY_NOT_FOUND, ConfigError. */
  putEntityRule(path: string, rule: AuthorizationRule): Promise<void>;
  /** True when a rule was deleted (false when there is no such entity or rule). */
  deleteEntityRule(path: string, keyName: string): Promise<boolean>;

  /** Namespace rules, in insertion order. */
  listNamespaceRules(): Promise<AuthorizationRule[]>;
  /** Adds a rule or replaces the rule with the same keyName. @throws ConfigError. */
  putNamespaceRule(rule: AuthorizationRule): Promise<void>;
  deleteNamespaceRule(keyName: string): Promise<boolean>;

  // Listener registry: ephemeral (the embedded store does not persist it).
  /** Records a listener; a record with the same path and listenerId is replaced. */
  registerListener(rec: ListenerRecord): Promise<void>;
  unregisterListener(path: string, listenerId: string): Promise<void>;
  /** Listeners on `path` (case-insensitive), in registration order. */
  listListeners(path: string): Promise<ListenerRecord[]>;
  countListeners(path: string): Promise<number>;

  // Metadata documents: a cache that survives restarts, in stores that can persist one. Losing a
  // document is harmless (it is fetched again from the agent), so failures here never throw.
  /** The document stored for the entity `path` (case-insensitive) under `key`, or undefined. */
  getDocument?(path: string, key: string): Promise<StoredDocument | undefined>;
  /** Stores a document, replacing the one with the same path and key. */
  putDocument?(path: string, key: string, doc: StoredDocument): Promise<void>;

  /**
   * Shared stores (several nodes): reports changes made through any node, so caches can be
   * dropped at once. Returns a stop function. A store only this process writes has none.
   */
  watch?(onChange: (change: StoreChange) => void): () => void;

  /** Shared stores: messages between the nodes (cross-node routing). Undefined before open(). */
  messaging?(): Messaging | undefined;
}
