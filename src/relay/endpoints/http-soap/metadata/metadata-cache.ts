/**
 * Last good metadata documents per entity and query (`calc` + `wsdl`, `calc` + `xsd=xsd0`), as the
 * agent returned them (not rewritten: addresses depend on the asking request). Used to answer
 * metadata requests while the agent is offline. Bounded by entry count and total bytes; the
 * least recently used entries go first. Optionally mirrored to a persistent backing (the store)
 * so a restarted relay still has them.
 */
export interface CachedDocument {
  readonly body: Buffer;
  readonly contentType: string;
  /** When it was fetched from the agent, ms since the epoch. */
  readonly storedAt: number;
}

/** Where cached documents are persisted (the relay store, when it supports it). */
export interface MetadataBacking {
  get(path: string, key: string): Promise<CachedDocument | undefined>;
  put(path: string, key: string, doc: CachedDocument): Promise<void>;
}

export interface MetadataCacheOptions {
  /** Most documents kept. 0 disables the cache. */
  readonly maxEntries: number;
  /** Most bytes kept (sum of document sizes). */
  readonly maxBytes: number;
  readonly backing?: MetadataBacking;
}

export class MetadataCache {
  readonly #entries = new Map<string, CachedDocument>();
  readonly #o: MetadataCacheOptions;
  #bytes = 0;

  constructor(options: MetadataCacheOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  static keyOf(path: string, query: string): string {
    return `${path.toLowerCase()}\n${query}`;
  }

  /** The cached document, from memory or else from the backing. */
  async get(path: string, query: string): Promise<CachedDocument | undefined> {
    const key = MetadataCache.keyOf(path, query);
    const hit = this.#entries.get(key);
    if (hit) {
      // Refresh its LRU position.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const stored = await this.#o.backing?.get(path.toLowerCase(), query).catch(() => undefined);
    if (stored) this.#remember(key, stored);
    return stored;
  }

  async put(path: string, query: string, doc: CachedDocument): Promise<void> {
    if (!this.#remember(MetadataCache.keyOf(path, query), doc)) return;
    await this.#o.backing?.put(path.toLowerCase(), query, doc).catch(() => undefined);
  }

  #remember(key: string, doc: CachedDocument): boolean {
    const { maxEntries, maxBytes } = this.#o;
    if (maxEntries === 0 || doc.body.length > maxBytes) return false;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.body.length;
      this.#entries.delete(key);
    }
    while (this.#entries.size >= maxEntries || this.#bytes + doc.body.length > maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#bytes -= this.#entries.get(oldest.value)!.body.length;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, doc);
    this.#bytes += doc.body.length;
    return true;
  }
}
