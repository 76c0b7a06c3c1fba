/**
 * Several relay nodes as one namespace, the Azure way: rendezvous at the sender's node.
 *
 * Every node tells the others which listeners it holds (an `add`/`remove` message at once, and
 * its whole list in a heartbeat every second, so a missed message heals). Each node registers
 * the others' listeners in its own router as RemoteListeners, so pick + failover, pinning and
 * the random spread run over every listener of the path on every node. When node A picks a
 * listener on node B, it sends B the `request`/`accept` command it would have written on the
 * control channel; B writes it on the listener's channel. The command's rendezvous address names
 * node A (minted there), so the listener dials A and payload bytes never pass through B. Only
 * request bodies up to CROSS_NODE_INLINE_BYTES travel with the command; a response the listener
 * writes on its control channel at B goes back to A over the messaging (in fragments when over
 * the messaging's message limit) and completes A's pending request as if it had arrived on a
 * local channel. A rendezvous a load balancer sends to the wrong node is passed on to the node
 * that minted it (ids name their node: Router.peerFor; each node's heartbeat carries its
 * internalUrl).
 *
 * Drain: a stopping node's heartbeat says `draining`; the others pick its listeners for no new
 * call and tell it (`idle`) when none of theirs is in flight on a listener, so it can close that
 * listener (1001, the listener re-homes) without failing a call.
 *
 * A node that stops sending heartbeats for NODE_DEAD_MS is taken as gone: its listeners leave
 * every other router, and requests they took fail at once (LISTENER_GONE), never a hang.
 *
 * Wire format of a message: a 4-byte big-endian JSON length, the JSON, then a forwarded command's
 * own JSON as is (its length in the header's `jl`), then the body bytes (if any): encodeMessage.
 * Subjects: `cluster` (broadcast: heartbeats, listener changes), `node.<base64url nodeId>` (to one node).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger';
import type { Clock, TimerHandle } from '../../core/clock';
import { RelayError } from '../../core/errors';
import type { ResponseCommand } from '../../protocol/hyco';
import type { Messaging } from '../../store/store';
import type { RouteListener } from '../routing/pending-request';
import type { BroadcastRequest, Router } from '../routing/router';

const HEARTBEAT_MS = 1000;
/** A node silent this long is gone. */
const NODE_DEAD_MS = 3500;
/** Forwarded requests whose response never came on the control channel (rendezvous mode) are forgotten after this. */
const FORWARD_TTL_MS = 10 * 60_000;
/** Most entries in the forwarded-request table (bounded memory). */
const MAX_FORWARDED = 100_000;
/**
 * Largest request body sent inline to another node's listener (over NATS, then its control
 * channel); a larger one goes by rendezvous at this node, so its bytes never pass the other node.
 */
export const CROSS_NODE_INLINE_BYTES = 16 * 1024;
/** A message over the messaging's limit goes in fragments: at most this many per message... */
const MAX_FRAGMENTS = 256;
/** ...this many messages being put together at once, each for at most FRAGMENT_TTL_MS. */
const MAX_REASSEMBLING = 1000;
const FRAGMENT_TTL_MS = 30_000;
/** Room left in each fragment for its own header. */
const FRAGMENT_HEAD_BYTES = 256;

interface ListenerInfo {
  readonly id: string;
  readonly path: string;
  readonly bodyLimit: number;
  readonly kinds: readonly string[];
  /** Takes SOAP calls as binary XML (RouteListener.soapBinary); absent from older nodes: text. */
  readonly sb?: boolean;
}

type ClusterMessage =
  | { t: 'hb'; node: string; instance?: string; url?: string; listeners: ListenerInfo[]; draining?: boolean }
  | { t: 'add'; node: string; l: ListenerInfo }
  | { t: 'remove'; node: string; id: string }
  /** A command for a listener of the receiving node: its JSON travels raw after the header (`jl` bytes). */
  | { t: 'cmd'; from: string; listenerId: string; path: string; requestId?: string; body: boolean }
  | { t: 'res'; from: string; listenerId: string; response: ResponseCommand; body: boolean }
  | { t: 'bad'; from: string; listenerId: string; requestId: string; message: string }
  | { t: 'gone'; from: string; listenerId: string; requestIds: string[] }
  /** To a draining node: this node has no call in flight on these listeners of it any more. */
  | { t: 'idle'; from: string; listenerIds: string[] }
  /** A broadcast entity's message for every node's listeners of the path (its body is the body). */
  | { t: 'bcast'; from: string; path: string; request: BroadcastRequest }
  /** Fragment i of n of a message over the messaging's limit (its bytes are the body). */
  | { t: 'frag'; from: string; id: string; i: number; n: number };

/**
 * A 4-byte big-endian length, the message's JSON header, then (when `raw` is given: the header
 * says how long it is in `jl`) a JSON text carried as is, not escaped into the header, then the body.
 */
export function encodeMessage(m: ClusterMessage, body?: Buffer, raw?: string): Uint8Array {
  const rawBytes = raw === undefined ? undefined : Buffer.from(raw, 'utf8');
  const json = Buffer.from(JSON.stringify(rawBytes ? { ...m, jl: rawBytes.length } : m), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length, 0);
  const parts: Buffer[] = [head, json];
  if (rawBytes) parts.push(rawBytes);
  if (body) parts.push(body);
  return Buffer.concat(parts);
}

export function decodeMessage(data: Uint8Array): { m: ClusterMessage; raw: string | undefined; body: Buffer | undefined } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < 4) throw new Error('cluster message too short');
  const n = buf.readUInt32BE(0);
  if (4 + n > buf.length) throw new Error('cluster message truncated');
  const m = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as ClusterMessage & { jl?: unknown };
  let at = 4 + n;
  let raw: string | undefined;
  if (m.jl !== undefined) {
    if (typeof m.jl !== 'number' || !Number.isSafeInteger(m.jl) || m.jl < 0 || at + m.jl > buf.length) throw new Error('cluster message truncated');
    raw = buf.subarray(at, at + m.jl).toString('utf8');
    at += m.jl;
    delete m.jl;
  }
  const rest = buf.subarray(at);
  return { m, raw, body: rest.length ? Buffer.from(rest) : undefined };
}

interface NodeEntry {
  lastSeen: number;
  listeners: Map<string, RemoteListener>;
  /** It said it is stopping (drain): its listeners finish their calls and take no new ones. */
  draining: boolean;
}

const nodeSubject = (nodeId: string): string => `node.${Buffer.from(nodeId, 'utf8').toString('base64url')}`;

/** A listener connected to another node, as this node's router sees it. */
export class RemoteListener implements RouteListener {
  readonly remote = true;
  readonly remoteAddress = '';
  readonly hostHeader = undefined;
  readonly pending = new Set<string>();
  #gone = false;
  /** Its node is draining: no new calls, the ones in flight finish. */
  draining = false;
  /** Takes SOAP calls as binary XML (its node said so). */
  soapBinary = false;

  constructor(
    readonly listenerId: string,
    readonly path: string,
    readonly nodeId: string,
    readonly controlBodyLimit: number,
    readonly sessionKinds: readonly string[],
    readonly rendezvousBase: string,
    readonly log: Logger,
    send: (m: ClusterMessage, body?: Buffer, raw?: string) => void,
    from: string,
  ) {
    this.#send = send;
    this.#from = from;
  }

  readonly #send: (m: ClusterMessage, body?: Buffer, raw?: string) => void;
  readonly #from: string;

  get healthy(): boolean {
    return !this.#gone && !this.draining;
  }

  markGone(): void {
    this.#gone = true;
  }

  sendRequest(json: string, body: Buffer | undefined, requestId?: string): boolean {
    if (this.#gone) return false;
    this.#send({ t: 'cmd', from: this.#from, listenerId: this.listenerId, path: this.path, ...(requestId ? { requestId } : {}), body: body !== undefined }, body, json);
    return true;
  }

  sendJson(json: string, requestId?: string): boolean {
    return this.sendRequest(json, undefined, requestId);
  }

  /** Its own node closes it (entity deleted, shutdown): nothing to do from here. */
  close(): void {}
}

export interface ClusterOptions {
  readonly messaging: Messaging;
  readonly nodeId: string;
  readonly router: Router;
  /** ws(s)://host[:port] at which listeners on other nodes reach this node (its publicUrl). */
  readonly rendezvousBase: string;
  /** http(s)://host:port at which other nodes reach this one directly (a misrouted rendezvous is passed on there). */
  readonly internalUrl: string;
  readonly clock: Clock;
  readonly log: Logger;
}

export class Cluster {
  readonly #o: ClusterOptions;
  readonly #log: Logger;
  /** Other nodes: their listeners here, and when they were last heard. */
  readonly #nodes = new Map<string, NodeEntry>();
  /** Requests other nodes forwarded to this node's listeners: request id → origin node and listener. */
  readonly #forwarded = new Map<string, { origin: string; listenerId: string; at: number }>();
  readonly #unsubscribe: Array<() => void> = [];
  #heartbeat: TimerHandle | undefined;
  /** This process, to tell apart another node that was given the same nodeId. */
  readonly #instance = randomUUID();
  #warnedDuplicate = false;
  #draining = false;
  #stopped = false;
  /** While this node drains: listener id → the nodes that said they have no call in flight on it. */
  readonly #idle = new Map<string, Set<string>>();
  /** Messages arriving in fragments: `{from} {id}` → the fragments so far. */
  readonly #reassembling = new Map<string, { parts: Buffer[]; at: number }>();
  readonly #onAdded = (l: RouteListener): void => this.#publish({ t: 'add', node: this.#o.nodeId, l: this.#info(l) });
  readonly #onRemoved = (l: RouteListener): void => this.#localRemoved(l);
  readonly #onForeign = (ch: RouteListener, response: ResponseCommand, body: Buffer | undefined): void => this.#foreignResponse(ch, response, body);
  readonly #onForeignInvalid = (ch: RouteListener, requestId: string, err: RelayError): void => this.#foreignInvalid(ch, requestId, err);
  readonly #onBroadcast = (path: string, request: BroadcastRequest, body: Buffer): void =>
    this.#publish({ t: 'bcast', from: this.#o.nodeId, path, request }, body);

  constructor(options: ClusterOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'cluster', nodeId: options.nodeId });
  }

  start(): void {
    const { messaging, router } = this.#o;
    this.#unsubscribe.push(messaging.subscribe('cluster', (d) => this.#onMessage(d)));
    this.#unsubscribe.push(messaging.subscribe(nodeSubject(this.#o.nodeId), (d) => this.#onMessage(d)));
    router.events.on('listenerAdded', this.#onAdded);
    router.events.on('listenerRemoved', this.#onRemoved);
    router.events.on('foreignResponse', this.#onForeign);
    router.events.on('foreignInvalidResponse', this.#onForeignInvalid);
    router.events.on('broadcast', this.#onBroadcast);
    const beat = (): void => {
      this.#sendHeartbeat();
      this.#sweep();
      this.#heartbeat = this.#o.clock.setTimeout(beat, HEARTBEAT_MS);
    };
    beat();
  }

  stop(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#heartbeat);
    // Leaving: the others drop this node's listeners now rather than after NODE_DEAD_MS.
    this.#publish({ t: 'hb', node: this.#o.nodeId, listeners: [] });
    for (const u of this.#unsubscribe.splice(0)) u();
    const { router } = this.#o;
    router.events.off('listenerAdded', this.#onAdded);
    router.events.off('listenerRemoved', this.#onRemoved);
    router.events.off('foreignResponse', this.#onForeign);
    router.events.off('foreignInvalidResponse', this.#onForeignInvalid);
    router.events.off('broadcast', this.#onBroadcast);
    for (const id of [...this.#nodes.keys()]) this.#nodeGone(id, 'this node is stopping');
  }

  /** Other nodes heard from, with their listener counts (status, tests). */
  nodes(): Array<{ nodeId: string; listeners: number; draining: boolean }> {
    return [...this.#nodes].map(([nodeId, n]) => ({ nodeId, listeners: n.listeners.size, draining: n.draining }));
  }

  /**
   * This node is stopping: the others stop picking its listeners for new calls but keep them
   * for the calls in flight, and each tells this node when it has none left on a listener (idle).
   */
  drain(): void {
    this.#draining = true;
    this.#sendHeartbeat();
  }

  /** While draining: true when some other node may still have a call in flight on this node's listener. */
  busy(listenerId: string): boolean {
    const idle = this.#idle.get(listenerId);
    for (const node of this.#nodes.keys()) if (!idle?.has(node)) return true;
    return false;
  }

  #info(l: RouteListener): ListenerInfo {
    return { id: l.listenerId, path: l.path, bodyLimit: l.controlBodyLimit, kinds: [...l.sessionKinds], ...(l.soapBinary ? { sb: true } : {}) };
  }

  #local(): RouteListener[] {
    return this.#o.router.registry.all().filter((l) => !l.remote);
  }

  #publish(m: ClusterMessage, body?: Buffer): void {
    this.#emit('cluster', encodeMessage(m, body));
  }

  #sendTo(node: string, m: ClusterMessage, body?: Buffer, raw?: string): void {
    this.#emit(nodeSubject(node), encodeMessage(m, body, raw));
  }

  /** Publishes `data`, in fragments when it is over the messaging's limit (a large response). */
  #emit(subject: string, data: Uint8Array): void {
    const { messaging } = this.#o;
    const room = Math.max(1024, messaging.maxPayload - FRAGMENT_HEAD_BYTES);
    try {
      if (data.length <= room) return messaging.publish(subject, data);
      const n = Math.ceil(data.length / room);
      const id = randomUUID();
      for (let i = 0; i < n; i++) {
        const part = Buffer.from(data.buffer, data.byteOffset + i * room, Math.min(room, data.length - i * room));
        messaging.publish(subject, encodeMessage({ t: 'frag', from: this.#o.nodeId, id, i, n }, part));
      }
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, subject }, 'could not send a message to the other relay nodes');
    }
  }

  /** A fragment: kept until its message is whole (fragments of one message arrive in order). */
  #fragment(m: { from: string; id: string; i: number; n: number }, body: Buffer | undefined): void {
    const key = `${m.from} ${m.id}`;
    let r = this.#reassembling.get(key);
    if (!r) {
      if (m.i !== 0 || !(m.n > 1 && m.n <= MAX_FRAGMENTS) || this.#reassembling.size >= MAX_REASSEMBLING) {
        return this.#log.warn({ from: m.from, i: m.i, n: m.n }, 'dropped a message fragment (out of order, or too many being put together)');
      }
      this.#reassembling.set(key, (r = { parts: [], at: this.#o.clock.now() }));
    }
    if (!body || m.i !== r.parts.length) {
      this.#reassembling.delete(key);
      return this.#log.warn({ from: m.from, i: m.i }, 'a message fragment is missing; the message is dropped');
    }
    r.parts.push(body);
    if (r.parts.length < m.n) return;
    this.#reassembling.delete(key);
    this.#onMessage(Buffer.concat(r.parts), true);
  }

  /** This node's heartbeat: to every node, or to one that just joined (so it knows this node at once). */
  #sendHeartbeat(to?: string): void {
    const hb: ClusterMessage = {
      t: 'hb',
      node: this.#o.nodeId,
      instance: this.#instance,
      url: this.#o.internalUrl,
      listeners: this.#local().map((l) => this.#info(l)),
      ...(this.#draining ? { draining: true } : {}),
    };
    if (to === undefined) this.#publish(hb);
    else this.#sendTo(to, hb);
  }

  #onMessage(data: Uint8Array, whole = false): void {
    let decoded: ReturnType<typeof decodeMessage>;
    try {
      decoded = decodeMessage(data);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'undecodable cluster message; ignored');
      return;
    }
    const { m, raw, body } = decoded;
    switch (m.t) {
      case 'hb':
        if (m.node === this.#o.nodeId && m.instance !== undefined && m.instance !== this.#instance && !this.#warnedDuplicate) {
          this.#warnedDuplicate = true;
          this.#log.error({ nodeId: m.node }, 'another relay node uses this nodeId: give every node its own (nodeId), or calls between them are lost');
        }
        if (m.node !== this.#o.nodeId && typeof m.url === 'string') this.#o.router.addPeer(m.node, m.url);
        return this.#heartbeatFrom(m.node, m.listeners, m.draining === true);
      case 'add':
        if (m.node !== this.#o.nodeId) this.#remoteAdded(m.node, m.l);
        return;
      case 'remove':
        if (m.node !== this.#o.nodeId) this.#remoteRemoved(m.node, m.id);
        return;
      case 'cmd':
        if (raw === undefined) return this.#log.warn({ from: m.from }, 'a forwarded command without its JSON; ignored');
        return this.#command(m.from, m.path, m.listenerId, raw, m.requestId, m.body ? body : undefined);
      case 'res':
        return this.#response(m.from, m.listenerId, m.response, m.body ? body : undefined);
      case 'bad': {
        const l = this.#nodes.get(m.from)?.listeners.get(m.listenerId);
        if (l) this.#o.router.onInvalidControlResponse(l, m.requestId, new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', m.message));
        return;
      }
      case 'bcast':
        if (m.from !== this.#o.nodeId) this.#o.router.deliverBroadcast(m.path, m.request, body ?? Buffer.alloc(0));
        return;
      case 'frag':
        if (!whole) this.#fragment(m, body);
        return;
      case 'idle':
        for (const id of m.listenerIds) {
          let set = this.#idle.get(id);
          if (!set) this.#idle.set(id, (set = new Set()));
          set.add(m.from);
        }
        return;
      case 'gone': {
        const l = this.#nodes.get(m.from)?.listeners.get(m.listenerId);
        for (const id of m.requestIds) {
          if (l?.pending.has(id)) this.#o.router.pendingRequests.get(id)?.fail(new RelayError('RELAY_ERR_LISTENER_GONE', 'The listener disconnected before it answered.'));
        }
        return;
      }
    }
  }

  // --- the directory of other nodes' listeners -----------------------------------------------

  #node(id: string): NodeEntry {
    let n = this.#nodes.get(id);
    if (!n) {
      n = { lastSeen: this.#o.clock.now(), listeners: new Map(), draining: false };
      this.#nodes.set(id, n);
      this.#log.info({ node: id }, 'relay node joined');
      // It may have missed this node's last heartbeat: without one it would not know this node's
      // listeners, nor pass on a rendezvous minted here, for up to a heartbeat interval.
      if (!this.#stopped) this.#sendHeartbeat(id);
    }
    return n;
  }

  #heartbeatFrom(node: string, listeners: ListenerInfo[], draining: boolean): void {
    if (node === this.#o.nodeId) return;
    const n = this.#node(node);
    n.lastSeen = this.#o.clock.now();
    const ids = new Set(listeners.map((l) => l.id));
    for (const id of [...n.listeners.keys()]) if (!ids.has(id)) this.#remoteRemoved(node, id);
    for (const l of listeners) if (!n.listeners.has(l.id)) this.#remoteAdded(node, l);
    if (draining && !n.draining) {
      n.draining = true;
      this.#log.info({ node }, 'relay node draining: its listeners take no new calls from here');
    }
    if (n.draining) {
      for (const l of n.listeners.values()) l.draining = true;
      this.#reportIdle(node, n);
    }
  }

  /** To a draining node, every heartbeat of its: its listeners this node has no call in flight on. */
  #reportIdle(node: string, n: NodeEntry): void {
    const listenerIds = [...n.listeners.values()].filter((l) => l.pending.size === 0).map((l) => l.listenerId);
    if (listenerIds.length) this.#sendTo(node, { t: 'idle', from: this.#o.nodeId, listenerIds });
  }

  #remoteAdded(node: string, info: ListenerInfo): void {
    const n = this.#node(node);
    if (n.listeners.has(info.id)) return;
    const l = new RemoteListener(
      info.id,
      info.path,
      node,
      Math.min(info.bodyLimit, CROSS_NODE_INLINE_BYTES),
      info.kinds,
      this.#o.rendezvousBase,
      this.#log.child({ path: info.path, listenerId: info.id, node }),
      (m, body, raw) => this.#sendTo(node, m, body, raw),
      this.#o.nodeId,
    );
    l.draining = n.draining;
    l.soapBinary = info.sb === true;
    n.listeners.set(info.id, l);
    this.#o.router.addRemoteListener(l);
  }

  #remoteRemoved(node: string, id: string): void {
    const n = this.#nodes.get(node);
    const l = n?.listeners.get(id);
    if (!n || !l) return;
    n.listeners.delete(id);
    l.markGone();
    this.#o.router.removeRemoteListener(l);
  }

  #nodeGone(node: string, why: string): void {
    const n = this.#nodes.get(node);
    if (!n) return;
    for (const id of [...n.listeners.keys()]) this.#remoteRemoved(node, id);
    this.#nodes.delete(node);
    this.#o.router.removePeer(node);
    this.#log.info({ node, why }, 'relay node left');
  }

  #sweep(): void {
    const now = this.#o.clock.now();
    for (const [id, n] of this.#nodes) if (now - n.lastSeen > NODE_DEAD_MS) this.#nodeGone(id, `no heartbeat for ${NODE_DEAD_MS} ms`);
    for (const [id, f] of this.#forwarded) if (now - f.at > FORWARD_TTL_MS) this.#forwarded.delete(id);
    for (const [key, r] of this.#reassembling) if (now - r.at > FRAGMENT_TTL_MS) this.#reassembling.delete(key);
  }

  // --- commands for this node's listeners, and their answers ---------------------------------------

  /** Another node picked one of this node's listeners: the command goes on its control channel. */
  #command(origin: string, path: string, listenerId: string, json: string, requestId: string | undefined, body: Buffer | undefined): void {
    // The path's listeners only (this runs for every forwarded call), and never a remote one.
    const channel = this.#o.router.registry.list(path).find((l) => l.listenerId === listenerId && !l.remote);
    if (typeof requestId === 'string' && this.#forwarded.size < MAX_FORWARDED) this.#forwarded.set(requestId, { origin, listenerId, at: this.#o.clock.now() });
    // Other forwarded calls in flight (this one is in the table already): the channel may hold this turn's writes for one.
    const taken = channel !== undefined && channel.sendRequest(json, body, requestId, this.#forwarded.size > 1);
    if (!taken && typeof requestId === 'string') {
      this.#forwarded.delete(requestId);
      this.#sendTo(origin, { t: 'gone', from: this.#o.nodeId, listenerId, requestIds: [requestId] });
    }
  }

  /** A response on one of this node's channels to a request another node forwarded: back to it. */
  #foreignResponse(channel: RouteListener, response: ResponseCommand, body: Buffer | undefined): void {
    const f = this.#forwarded.get(response.requestId);
    if (!f || f.listenerId !== channel.listenerId) return channel.log.debug({ requestId: response.requestId }, 'response for an unknown or finished request');
    this.#forwarded.delete(response.requestId);
    this.#sendTo(f.origin, { t: 'res', from: this.#o.nodeId, listenerId: f.listenerId, response, body: body !== undefined }, body);
  }

  #foreignInvalid(channel: RouteListener, requestId: string, err: RelayError): void {
    const f = this.#forwarded.get(requestId);
    if (!f || f.listenerId !== channel.listenerId) return;
    this.#forwarded.delete(requestId);
    this.#sendTo(f.origin, { t: 'bad', from: this.#o.nodeId, listenerId: f.listenerId, requestId, message: `The listener answered with an invalid response (${err.message}).` });
  }

  /** The answer to a request this node sent to another node's listener. */
  #response(from: string, listenerId: string, response: ResponseCommand, body: Buffer | undefined): void {
    const l = this.#nodes.get(from)?.listeners.get(listenerId);
    if (!l) return this.#log.debug({ from, listenerId }, 'response from a listener this node does not know');
    this.#o.router.onControlResponse(l, response, body);
  }

  /** One of this node's listeners left: the others forget it, and its forwarded requests fail at their origin. */
  #localRemoved(l: RouteListener): void {
    if (l.remote) return;
    this.#publish({ t: 'remove', node: this.#o.nodeId, id: l.listenerId });
    const byOrigin = new Map<string, string[]>();
    for (const [id, f] of this.#forwarded) {
      if (f.listenerId !== l.listenerId) continue;
      this.#forwarded.delete(id);
      byOrigin.set(f.origin, [...(byOrigin.get(f.origin) ?? []), id]);
    }
    for (const [origin, ids] of byOrigin) this.#sendTo(origin, { t: 'gone', from: this.#o.nodeId, listenerId: l.listenerId, requestIds: ids });
  }
}
