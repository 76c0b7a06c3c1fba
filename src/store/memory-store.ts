/**
 * The embedded store: state in memory, optionally persisted to one JSON file (the single-node
 * default, so nothing is lost on restart).
 *
 * Durability: every mutation of entities or rules rewrites the file atomically: write a temp
 * file in the same directory (mode 0600: it holds keys), fsync it, rename it over the file,
 * fsync the directory. Mutations run one at a time: each builds the next state on a copy,
 * writes it, and only then makes it the state readers see, so a mutation's promise resolves
 * once it is on disk and a mutation whose write failed (RELAY_ERR_STORE_IO: disk full, read-only
 * file system) leaves memory exactly as it was: what the caller was told failed did not happen.
 * A temp file left by a kill mid-write is removed at open().
 *
 * The listener registry is in memory only (listeners reconnect after a restart anyway).
 *
 * Metadata documents (file-backed stores only) live beside the file, in `<file>.documents/`: a
 * folder per entity, a JSON file per document, written to a temp file and renamed. They are a
 * cache: at most maxDocuments are kept, a failed read or write only loses the document, and
 * deleting an entity deletes its documents.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as nodePath from 'node:path';
import { type Clock, systemClock } from '../core/clock';
import type { AuthorizationRule, HybridConnection, ListenerRecord } from '../core/entities';
import { RelayError } from '../core/errors';
import type { EntityInput, EntityPatch, Store, StoredDocument } from './store';
import { MAX_RULES_PER_ENTITY, MAX_RULES_PER_NAMESPACE, assertValid, copyRule, entityFieldIssues, ruleIssues, rulesIssues } from './validate';
import { applyPatch, copyEntity, exists, key, newEntityState, notFound, parseEntityState, putRule, upsertInto, type EntityState } from './entity-state';

/** Version of the file format written by this class. */
export const STORE_FILE_VERSION = 1;

export interface MemoryStoreOptions {
  /** JSON file to load on open() and persist to. Without it, the store lives in memory only. */
  file?: string;
  /** Time source for createdAt/updatedAt. Default: the system clock. */
  clock?: Clock;
  /** Most metadata documents kept on disk (file-backed only). Default 1024. */
  maxDocuments?: number;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface StoreFile {
  version: number;
  namespaceRules: AuthorizationRule[];
  entities: EntityState[];
}


/** Entities and namespace rules: what a mutation edits (a copy) and the file holds. */
interface State {
  entities: Map<string, EntityState>;
  namespaceRules: AuthorizationRule[];
}

function snapshot(state: State): string {
  const data: StoreFile = { version: STORE_FILE_VERSION, namespaceRules: state.namespaceRules, entities: [...state.entities.values()] };
  return `${JSON.stringify(data, null, 2)}\n`;
}

export class MemoryStore implements Store {
  readonly #file: string | undefined;
  readonly #clock: Clock;
  #entities = new Map<string, EntityState>();
  #namespaceRules: AuthorizationRule[] = [];
  readonly #listeners = new Map<string, Map<string, ListenerRecord>>();
  #open = false;
  /** The last mutation started or queued (never rejects: failures go to the callers only). */
  #lastWrite: Promise<void> = Promise.resolve();

  readonly #maxDocuments: number;
  /** Documents on disk (path of each file), known after open(). */
  readonly #documents = new Set<string>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#file = options.file === undefined ? undefined : nodePath.resolve(options.file);
    this.#clock = options.clock ?? systemClock;
    this.#maxDocuments = options.maxDocuments ?? 1024;
  }

  #documentDir(path: string): string {
    return nodePath.join(`${this.#file!}.documents`, sha256(key(path)));
  }

  #documentFile(path: string, docKey: string): string {
    return nodePath.join(this.#documentDir(path), `${sha256(docKey)}.json`);
  }

  async #indexDocuments(): Promise<void> {
    this.#documents.clear();
    const root = `${this.#file!}.documents`;
    const dirs = await fsp.readdir(root).catch(() => [] as string[]);
    for (const d of dirs) {
      const files = await fsp.readdir(nodePath.join(root, d)).catch(() => [] as string[]);
      for (const f of files) if (f.endsWith('.json')) this.#documents.add(nodePath.join(root, d, f));
    }
  }

  /** A memory-only store keeps no documents (the relay's metadata cache is in memory already). */
  async getDocument(path: string, docKey: string): Promise<StoredDocument | undefined> {
    this.#assertOpen();
    if (this.#file === undefined) return undefined;
    const file = this.#documentFile(path, docKey);
    if (!this.#documents.has(file)) return undefined;
    try {
      const o = JSON.parse(await fsp.readFile(file, 'utf8')) as { path: string; key: string; contentType: string; storedAt: number; body: string };
      if (key(o.path) !== key(path) || o.key !== docKey || typeof o.body !== 'string') return undefined;
      return { body: Buffer.from(o.body, 'base64'), contentType: String(o.contentType), storedAt: Number(o.storedAt) };
    } catch {
      return undefined;
    }
  }

  async putDocument(path: string, docKey: string, doc: StoredDocument): Promise<void> {
    this.#assertOpen();
    if (this.#file === undefined) return;
    const file = this.#documentFile(path, docKey);
    if (!this.#documents.has(file) && this.#documents.size >= this.#maxDocuments) return;
    const text = JSON.stringify({ path, key: docKey, contentType: doc.contentType, storedAt: doc.storedAt, body: doc.body.toString('base64') });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fsp.mkdir(nodePath.dirname(file), { recursive: true, mode: 0o700 });
      await fsp.writeFile(temp, text, { mode: 0o600 });
      await fsp.rename(temp, file);
      this.#documents.add(file);
    } catch {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  async open(): Promise<void> {
    if (this.#file !== undefined) {
      await this.#settle();
      await this.#removeStaleTemps(this.#file);
      const state = await this.#load(this.#file);
      this.#entities = new Map(state.entities.map((e) => [key(e.path), e]));
      this.#namespaceRules = state.namespaceRules;
      await this.#indexDocuments();
    }
    this.#open = true;
  }

  async close(): Promise<void> {
    await this.#settle();
    this.#open = false;
  }

  async getEntity(path: string): Promise<HybridConnection | undefined> {
    this.#assertOpen();
    const e = typeof path === 'string' ? this.#entities.get(key(path)) : undefined;
    return e && copyEntity(e);
  }

  async listEntities(): Promise<HybridConnection[]> {
    this.#assertOpen();
    return [...this.#entities.values()]
      .sort((a, b) => {
        const ka = key(a.path);
        const kb = key(b.path);
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      })
      .map(copyEntity);
  }

  async createEntity(input: EntityInput): Promise<HybridConnection> {
    this.#assertOpen();
    return this.#mutate((state) => {
      const e = newEntityState(input, this.#now());
      if (state.entities.has(key(e.path))) {
        throw exists(e.path);
      }
      state.entities.set(key(e.path), e);
      return copyEntity(e);
    });
  }

  async updateEntity(path: string, patch: EntityPatch): Promise<HybridConnection> {
    this.#assertOpen();
    return this.#mutate((state) => {
      const e = typeof path === 'string' ? state.entities.get(key(path)) : undefined;
      if (!e) throw notFound(String(path));
      assertValid('hybrid connection update', entityFieldIssues(patch ?? {}));
      applyPatch(e, patch ?? {}, this.#now());
      return copyEntity(e);
    });
  }

  async upsertEntity(input: EntityInput): Promise<HybridConnection> {
    this.#assertOpen();
    return this.#mutate((state) => {
      const fresh = newEntityState(input, this.#now());
      const e = state.entities.get(key(fresh.path));
      if (!e) {
        state.entities.set(key(fresh.path), fresh);
        return copyEntity(fresh);
      }
      upsertInto(e, input, this.#now());
      return copyEntity(e);
    });
  }

  async deleteEntity(path: string): Promise<boolean> {
    this.#assertOpen();
    const deleted = await this.#mutate((state) => typeof path === 'string' && state.entities.delete(key(path)), (d) => !d);
    if (!deleted) return false;
    if (this.#file !== undefined) {
      const dir = this.#documentDir(path);
      for (const f of [...this.#documents]) if (nodePath.dirname(f) === dir) this.#documents.delete(f);
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    return true;
  }

  async putEntityRule(path: string, rule: AuthorizationRule): Promise<void> {
    this.#assertOpen();
    await this.#mutate((state) => {
      const e = typeof path === 'string' ? state.entities.get(key(path)) : undefined;
      if (!e) throw notFound(String(path));
      assertValid('authorization rule', ruleIssues(rule, 'rule'));
      e.authorizationRules = putRule(e.authorizationRules, rule, MAX_RULES_PER_ENTITY, 'authorizationRules');
      e.updatedAt = this.#now();
    });
  }

  async deleteEntityRule(path: string, keyName: string): Promise<boolean> {
    this.#assertOpen();
    return this.#mutate((state) => {
      const e = typeof path === 'string' ? state.entities.get(key(path)) : undefined;
      const i = e ? e.authorizationRules.findIndex((r) => r.keyName === keyName) : -1;
      if (!e || i === -1) return false;
      e.authorizationRules = e.authorizationRules.filter((_, j) => j !== i);
      e.updatedAt = this.#now();
      return true;
    }, (deleted) => !deleted);
  }

  async listNamespaceRules(): Promise<AuthorizationRule[]> {
    this.#assertOpen();
    return this.#namespaceRules.map(copyRule);
  }

  async putNamespaceRule(rule: AuthorizationRule): Promise<void> {
    this.#assertOpen();
    await this.#mutate((state) => {
      assertValid('authorization rule', ruleIssues(rule, 'rule'));
      state.namespaceRules = putRule(state.namespaceRules, rule, MAX_RULES_PER_NAMESPACE, 'namespaceRules');
    });
  }

  async deleteNamespaceRule(keyName: string): Promise<boolean> {
    this.#assertOpen();
    return this.#mutate((state) => {
      const before = state.namespaceRules.length;
      state.namespaceRules = state.namespaceRules.filter((r) => r.keyName !== keyName);
      return state.namespaceRules.length !== before;
    }, (deleted) => !deleted);
  }

  async registerListener(rec: ListenerRecord): Promise<void> {
    this.#assertOpen();
    const k = key(rec.path);
    let byId = this.#listeners.get(k);
    if (!byId) this.#listeners.set(k, (byId = new Map()));
    byId.delete(rec.listenerId); // re-registration moves it to the end
    byId.set(rec.listenerId, { ...rec });
  }

  async unregisterListener(path: string, listenerId: string): Promise<void> {
    this.#assertOpen();
    const k = key(path);
    const byId = this.#listeners.get(k);
    if (byId?.delete(listenerId) && byId.size === 0) this.#listeners.delete(k);
  }

  async listListeners(path: string): Promise<ListenerRecord[]> {
    this.#assertOpen();
    return [...(this.#listeners.get(key(path))?.values() ?? [])].map((r) => ({ ...r }));
  }

  async countListeners(path: string): Promise<number> {
    this.#assertOpen();
    return this.#listeners.get(key(path))?.size ?? 0;
  }

  // ---------------------------------------------------------------------------------------

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }

  /** A file-backed store must be opened first, or its file would be overwritten unread. */
  #assertOpen(): void {
    if (this.#file !== undefined && !this.#open) {
      throw new RelayError('RELAY_ERR_STORE_IO', 'The file-backed store is not open; call open() first.');
    }
  }

  // --- persistence --------------------------------------------------------------------------

  /** Waits for every queued write (ignoring failures, which their callers already saw). */
  async #settle(): Promise<void> {
    await this.#lastWrite;
  }

  /**
   * One mutation, after every earlier one: `change` edits a copy of the state (and may throw to
   * refuse, changing nothing); the copy is written to disk and only then becomes the state.
   * `unchanged(result)` true: nothing to write (a delete that found nothing).
   */
  #mutate<T>(change: (state: State) => T, unchanged: (result: T) => boolean = () => false): Promise<T> {
    const run = this.#lastWrite.then(async () => {
      const draft: State = {
        entities: new Map([...this.#entities].map(([k, e]) => [k, { ...e, authorizationRules: e.authorizationRules.map(copyRule) }])),
        namespaceRules: this.#namespaceRules.map(copyRule),
      };
      const result = change(draft);
      if (unchanged(result)) return result;
      if (this.#file !== undefined) await this.#writeFile(this.#file, snapshot(draft));
      this.#entities = draft.entities;
      this.#namespaceRules = draft.namespaceRules;
      return result;
    });
    this.#lastWrite = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Temp files of writes a kill interrupted (the store file's and the documents'). */
  async #removeStaleTemps(file: string): Promise<void> {
    const dir = nodePath.dirname(file);
    const prefix = `.${nodePath.basename(file)}.`;
    for (const f of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (f.startsWith(prefix) && f.endsWith('.tmp')) await fsp.rm(nodePath.join(dir, f), { force: true }).catch(() => undefined);
    }
    const docs = `${file}.documents`;
    for (const d of await fsp.readdir(docs).catch(() => [] as string[])) {
      for (const f of await fsp.readdir(nodePath.join(docs, d)).catch(() => [] as string[])) {
        if (f.endsWith('.tmp')) await fsp.rm(nodePath.join(docs, d, f), { force: true }).catch(() => undefined);
      }
    }
  }

  async #writeFile(file: string, text: string): Promise<void> {
    const dir = nodePath.dirname(file);
    const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      const fh = await fsp.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      // The message reaches management callers: the reason's code, never the server's paths
      // (the cause, with the path, is for the relay's own log).
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new RelayError('RELAY_ERR_STORE_IO', `Could not write the store (${code}); nothing was changed.`, { cause: err });
    }
    // Make the rename itself durable. Directories cannot be opened for sync on every platform.
    try {
      const d = await fsp.open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* best effort */
    }
  }

  async #load(file: string): Promise<{ entities: EntityState[]; namespaceRules: AuthorizationRule[] }> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entities: [], namespaceRules: [] };
      throw new RelayError('RELAY_ERR_STORE_IO', `Could not read the store file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const corrupt = (why: string, cause?: unknown): RelayError =>
      new RelayError(
        'RELAY_ERR_STORE_IO',
        `The store file ${file} is corrupt (${why}). Restore it from a backup, or move it away to start empty.`,
        { cause },
      );
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw corrupt(`not JSON: ${(err as Error).message}`, err);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw corrupt('not a JSON object');
    const d = data as Partial<Record<keyof StoreFile, unknown>>;
    if (d.version !== STORE_FILE_VERSION) throw corrupt(`unsupported version ${JSON.stringify(d.version)}`);
    if (!Array.isArray(d.entities)) throw corrupt('"entities" is not a list');
    const issues = rulesIssues(d.namespaceRules, MAX_RULES_PER_NAMESPACE, 'namespaceRules');
    const entities: EntityState[] = [];
    const seen = new Set<string>();
    d.entities.forEach((raw: unknown, i: number) => {
      const f = `entities[${i}]`;
      const parsed = parseEntityState(raw, f);
      const p = (raw as { path?: unknown } | null)?.path;
      if (typeof p === 'string' && seen.has(key(p))) parsed.issues.push(`${f}.path: '${p}' appears more than once`);
      issues.push(...parsed.issues);
      if (parsed.issues.length || !parsed.entity) return;
      seen.add(key(parsed.entity.path));
      entities.push(parsed.entity);
    });
    if (issues.length) throw corrupt(issues.slice(0, 5).join('; ') + (issues.length > 5 ? '; ...' : ''));
    return { entities, namespaceRules: (d.namespaceRules as AuthorizationRule[]).map(copyRule) };
  }
}
