/**
 * Which listener control channels serve which path on this node, and how one is picked.
 * Azure spreads work "in random order; fair distribution is attempted with best effort"
 * (hybrid-connections.md §6): uniform random among healthy channels, honouring the
 * Microsoft-Relay-AllowedListeners / DisallowedListeners pinning headers.
 */
import type { ListenerRecord } from '../../core/entities';
import type { Store } from '../../store/store';

/** What the registry needs from a control channel. */
export interface RegisteredListener {
  readonly listenerId: string;
  readonly path: string;
  /** False once the channel is closing or missed a heartbeat. */
  readonly healthy: boolean;
}

export interface PickOptions {
  allowed?: readonly string[];
  disallowed?: readonly string[];
  /** Listeners already tried for this call (failover). */
  exclude?: ReadonlySet<string>;
}

export class ListenerRegistry<L extends RegisteredListener> {
  readonly #byPath = new Map<string, Set<L>>();
  readonly #store: Store;
  readonly #random: () => number;

  constructor(store: Store, random: () => number) {
    this.#store = store;
    this.#random = random;
  }

  static key(path: string): string {
    return path.toLowerCase();
  }

  /** Writes the store entry of a listener about to connect (before its 101: routable first). */
  async announce(record: ListenerRecord): Promise<void> {
    await this.#store.registerListener(record);
  }

  /** Registers a connected channel locally (the store entry was written before its 101). */
  addLocal(listener: L): void {
    const key = ListenerRegistry.key(listener.path);
    let set = this.#byPath.get(key);
    if (!set) this.#byPath.set(key, (set = new Set()));
    set.add(listener);
  }

  async remove(listener: L): Promise<void> {
    this.removeRemote(listener);
    await this.#store.unregisterListener(listener.path, listener.listenerId);
  }

  /**
   * A listener connected to another node (relay/cluster): routable from here like a local one;
   * its store record is its own node's to write and remove.
   */
  addRemote(listener: L): void {
    this.addLocal(listener);
  }

  removeRemote(listener: L): void {
    const key = ListenerRegistry.key(listener.path);
    const set = this.#byPath.get(key);
    if (set?.delete(listener) && set.size === 0) this.#byPath.delete(key);
  }

  /** Local listeners for a path (all, healthy or not). */
  list(path: string): L[] {
    return [...(this.#byPath.get(ListenerRegistry.key(path)) ?? [])];
  }

  count(path: string): number {
    return this.#byPath.get(ListenerRegistry.key(path))?.size ?? 0;
  }

  /**
   * Listeners on a path across every node sharing the store (the store's records: a shared
   * store holds every node's); this node's own count when the store cannot answer.
   */
  async namespaceCount(path: string): Promise<number> {
    try {
      return Math.max(this.count(path), await this.#store.countListeners(path));
    } catch {
      return this.count(path);
    }
  }

  all(): L[] {
    return [...this.#byPath.values()].flatMap((s) => [...s]);
  }

  /**
   * Picks a healthy listener at random. Returns `undefined` with reason 'none' when no listener
   * is connected, 'pinning' when listeners exist but none meets the pinning headers.
   */
  pick(path: string, options: PickOptions = {}): { listener?: L; reason?: 'none' | 'pinning' } {
    const all = this.list(path).filter((l) => l.healthy && !options.exclude?.has(l.listenerId));
    if (all.length === 0) return { reason: 'none' };
    const allowed = options.allowed?.map((s) => s.toLowerCase());
    const disallowed = options.disallowed?.map((s) => s.toLowerCase());
    const candidates = all.filter((l) => {
      const id = baseListenerId(l.listenerId);
      if (allowed && allowed.length && !allowed.includes(id)) return false;
      if (disallowed && disallowed.includes(id)) return false;
      return true;
    });
    if (candidates.length === 0) return { reason: 'pinning' };
    return { listener: candidates[Math.floor(this.#random() * candidates.length)] };
  }
}

/** Listener ids may carry gateway suffixes such as `_G17`; pinning compares without them. */
export function baseListenerId(id: string): string {
  return id.replace(/_G\d+(_G\d+)*$/i, '').toLowerCase();
}

/** Parses a comma-separated pinning header. */
export function parseListenerList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return ids;
}
