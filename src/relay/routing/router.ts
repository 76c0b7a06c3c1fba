/**
 * One transport-neutral relayed call. Every endpoint (HTTP senders, SOAP over HTTP, metadata,
 * net.tcp, WebSocket senders) hands the router an immutable request and a ResponseHandler; the
 * router owns what they share:
 * - the listener registry, and the tables of pending requests and pending accepts;
 * - pick + failover, in one loop: a healthy listener at random, honouring the
 *   Allowed/DisallowedListeners pinning lists, another one when the picked channel died between
 *   pick and send (hybrid-connections.md §6);
 * - the control channel's hooks (responses, bound to the channel the request went out on;
 *   a closed channel fails what it took);
 * - timeouts (PendingRequest, PendingAccept) and the per-call metrics, recorded here only.
 * Every refusal reaches the handler (or the accept's sender), so a caller always gets an answer.
 *
 * Rendezvous addresses are capabilities the relay mints: `sb-hc-id={handle}_{secret}`, where the
 * handle names the call and the secret is random (newSecret, ≥ 128 bits), sent only on the chosen
 * listener's control channel and compared in constant time. A sender's own `sb-hc-id` is a
 * tracing id only (the `accept` message's `id`), and a request's id (which a listener may log or
 * echo as `requestId`) is not enough to take its body.
 */
import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { EndpointNotFoundError, RelayError, toRelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { lazyChild } from '../../core/logger';
import type { Clock } from '../../core/clock';
import type { ResponseCommand } from '../../protocol/hyco';
import { serializeAccept } from '../../protocol/hyco';
import type { Store } from '../../store/store';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import { assertForwardableHeaders, encodePath, headerBytes } from '../http/http-headers';
import type { RelayMetrics } from '../metrics';
import type { RelayConfig } from '../options';
import { ListenerRegistry } from './listener-registry';
import { OperationLabels } from './operation-labels';
import { PendingAccept } from './pending-accept';
import { PendingCarrier } from './pending-carrier';
import { inlineRequestJson, PendingRequest, requestFormFor, type RelayedRequest, type RouteListener } from './pending-request';
import type { ResponseHandler } from './response-handler';

export interface RouterOptions {
  readonly limits: Pick<
    RelayConfig['limits'],
    'requestTimeoutMs' | 'bodyIdleTimeoutMs' | 'maxHeaderBytes' | 'maxPendingRequestsPerListener' | 'rendezvousTimeoutMs' | 'maxFramePayloadBytes'
  >;
  readonly store: Store;
  readonly metrics: RelayMetrics;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly newId: () => string;
  /**
   * The secret part of a rendezvous address: at least 128 random bits, URL-safe, without `_`
   * (hex of 16 random bytes from node:crypto in the relay).
   */
  readonly newSecret: () => string;
  /**
   * This node's id, with several nodes on one namespace (relay/cluster): the ids this router
   * mints start with its tag (nodeTag), so a rendezvous a load balancer sends to another node is
   * passed on to this one.
   */
  readonly nodeId?: string;
  /** ws(s)://host of rendezvous addresses, for a listener that connected with this Host. */
  readonly rendezvousBase: (hostHeader: string | undefined) => string;
  /** Azure-style error text with a tracking id. */
  readonly describe: (message: string, path?: string) => string;
}

/** A relayed call in flight: the endpoint cancels it when its caller goes away. */
export interface RelayedCall {
  readonly id: string;
  cancel(): void;
}

export interface RouteObserver {
  /** Called once when the call is over, with the status the caller saw and its duration. */
  onDone?(status: number, ms: number): void;
  /** Called when a listener took the call (again after a failover). */
  onListener?(listenerId: string): void;
}

/** A listener with more than this still to be written to it misses broadcast messages, bytes. */
const BROADCAST_BACKLOG_BYTES = 4 * 1024 * 1024;

/** A WebSocket sender to hand to a listener (an `accept` command). */
export interface AcceptRequest {
  readonly path: string;
  /** The hybrid connection path as the sender wrote it, after `/$hc` (for the accept address). */
  readonly rest: string;
  /** The sender's query without relay parameters, no leading `?`. */
  readonly appQuery: string;
  readonly connectHeaders: Record<string, string>;
  readonly remoteEndpoint: { readonly address: string; readonly port: number };
  readonly senderKey: string;
  readonly senderProtocols: string[];
  readonly allowedListeners?: readonly string[];
  readonly disallowedListeners?: readonly string[];
  /** Called once the sender is accepted, refused, timed out or gone (the access line). */
  readonly onSettled?: (id: string, result: 'accepted' | 'rejected' | 'timeout' | 'gone', status?: number) => void;
  /** The sender's sb-hc-id: a tracing id the listener sees as the accept's `id`, never its address. */
  readonly id?: string;
}

/** A session carrier to ask a listener for (Router.openCarrier). */
export interface CarrierRequest {
  readonly path: string;
  /** The session kind (protocol/hyco/session-carrier.ts: NET_TCP_SESSION). */
  readonly kind: string;
  /** The entity path and suffix as the client wrote it, after `/$hc` (for the accept address). */
  readonly rest: string;
  readonly connectHeaders: Record<string, string>;
  readonly remoteEndpoint?: { readonly address: string; readonly port: number };
  /** Largest message either way on the carrier, bytes. */
  readonly maxMessageBytes: number;
}

interface Pinning {
  readonly allowedListeners?: readonly string[];
  readonly disallowedListeners?: readonly string[];
}

/**
 * What the router tells a cluster link (relay/cluster): this node's listeners coming and going,
 * and control-channel responses to requests another node forwarded here.
 */
export interface RouterEvents {
  listenerAdded: [listener: RouteListener];
  listenerRemoved: [listener: RouteListener];
  foreignResponse: [channel: RouteListener, response: ResponseCommand, body: Buffer | undefined];
  foreignInvalidResponse: [channel: RouteListener, requestId: string, err: RelayError];
  /** A broadcast entity's message, sent to this node's listeners: for every other node's too. */
  broadcast: [path: string, request: BroadcastRequest, body: Buffer];
}

/** A broadcast message (Router.broadcast) as it travels to the other nodes. */
export interface BroadcastRequest {
  readonly id: string;
  readonly target: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly remoteEndpoint?: { readonly address: string; readonly port: number };
}

/** A node id as it starts the ids that node mints: URL-safe, without `.` or `_`. */
export function nodeTag(nodeId: string): string {
  return Buffer.from(nodeId, 'utf8').toString('base64url').replace(/_/g, '~');
}

export class Router {
  readonly registry: ListenerRegistry<RouteListener>;
  readonly events = new EventEmitter<RouterEvents>();
  readonly pendingRequests = new Map<string, PendingRequest>();
  /** WebSocket senders and session carriers waiting for their listener to dial the accept address. */
  readonly pendingAccepts = new Map<string, PendingAccept | PendingCarrier>();
  /** Bounded `operation` labels per path, shared by every endpoint. */
  readonly labels = new OperationLabels();
  readonly #o: RouterOptions;
  /** Handle of a pending request or accept → the secret part of its rendezvous address. */
  readonly #secrets = new Map<string, Buffer>();
  #draining = false;
  /** `{nodeTag}.` when ids name this node (options.nodeId), else ''. */
  readonly #idPrefix: string;
  /** Other relay nodes (relay/cluster): node tag → the URL they are reached at. */
  readonly #peers = new Map<string, string>();

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#idPrefix = options.nodeId !== undefined ? `${nodeTag(options.nodeId)}.` : '';
    this.registry = new ListenerRegistry<RouteListener>(options.store, options.random);
  }

  /**
   * Relays `request` to a listener of its path and the response to `handler`. Never throws:
   * every relay-side failure (headers too large, no listener, pinning, busy, timeout, listener
   * gone) goes to `handler.onError`.
   */
  request(request: RelayedRequest, handler: ResponseHandler, observer: RouteObserver = {}): RelayedCall {
    const o = this.#o;
    // The caller's correlation id names the call to the listener too (one id in every log).
    const id = request.id !== undefined && !this.pendingRequests.has(request.id) ? request.id : this.mintId();
    const pending = new PendingRequest(id, request, handler, {
      requestTimeoutMs: o.limits.requestTimeoutMs,
      bodyIdleTimeoutMs: o.limits.bodyIdleTimeoutMs,
      clock: o.clock,
      logger: lazyChild(o.log, { requestId: id, path: request.path }),
      onDone: (p, status) => {
        this.pendingRequests.delete(p.id);
        this.#secrets.delete(p.id);
        const ms = this.recordCall(request.path, request.operation, status, p.startedAt);
        observer.onDone?.(status, ms);
      },
    });
    this.pendingRequests.set(id, pending);
    const capability = this.#mint(id);
    try {
      // Headers the control message cannot carry fail this caller (431, or a SOAP fault), never the listener.
      assertForwardableHeaders(request.headers as Record<string, string>, o.limits.maxHeaderBytes);
      const headersFit = headerBytes(request.headers as Record<string, string>) <= o.limits.maxHeaderBytes;
      const path = `${encodePath(request.path)}`;
      this.#dispatch(request.path, request, 'request', (listener) => {
        if (listener.pending.size >= o.limits.maxPendingRequestsPerListener) {
          throw new RelayError('RELAY_ERR_TOO_BUSY', 'The listener has too many requests in flight; retry later.');
        }
        const address = `${(listener.rendezvousBase ?? o.rendezvousBase(listener.hostHeader))}/$hc/${path}?sb-hc-action=request&sb-hc-id=${capability}`;
        const form = requestFormFor(request, listener);
        const inline = headersFit && Buffer.isBuffer(form.body) && form.body.length <= listener.controlBodyLimit;
        const sent = pending.send(listener, address, inline);
        if (sent) observer.onListener?.(listener.listenerId);
        return sent;
      });
    } catch (err) {
      pending.fail(toRelayError(err));
    }
    return { id, cancel: () => pending.cancel() };
  }

  /** A new call id: unique, and naming this node when ids are tagged (several nodes). */
  mintId(): string {
    return this.#idPrefix + this.#o.newId();
  }

  /**
   * Parks a WebSocket sender's socket and sends an `accept` to a listener of its path. Throws
   * EndpointNotFound (404, as Azure answers a WebSocket sender with no listener) when no
   * listener takes it; the sender's socket is then the caller's to answer.
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, a: AcceptRequest): PendingAccept {
    const o = this.#o;
    const id = this.#idPrefix + o.newId();
    // The sender's sb-hc-id is for tracing only: the listener sees it as the accept's id.
    const trackingId = a.id || id;
    const pending = new PendingAccept(req, socket, head, {
      id,
      path: a.path,
      senderKey: a.senderKey,
      senderProtocols: a.senderProtocols,
      timeoutMs: o.limits.rendezvousTimeoutMs,
      maxFramePayloadBytes: o.limits.maxFramePayloadBytes,
      clock: o.clock,
      logger: o.log.child({ endpoint: 'ws-sender', path: a.path, connId: id, trackingId }),
      onSettled: (p, r, status) => {
        this.pendingAccepts.delete(p.id);
        this.#secrets.delete(p.id);
        o.metrics.wsConnections.inc({ path: a.path, result: r });
        a.onSettled?.(p.id, r, status);
      },
    });
    this.pendingAccepts.set(id, pending);
    const capability = this.#mint(id);
    try {
      this.#dispatch(a.path, a, 'accept', (listener) => {
        const address =
          `${(listener.rendezvousBase ?? o.rendezvousBase(listener.hostHeader))}/$hc${a.rest}?` +
          `${a.appQuery ? `${a.appQuery}&` : ''}sb-hc-action=accept&sb-hc-id=${capability}`;
        return listener.sendJson(serializeAccept({ address, id: trackingId, connectHeaders: a.connectHeaders, remoteEndpoint: a.remoteEndpoint }));
      });
    } catch (err) {
      this.pendingAccepts.delete(id);
      this.#secrets.delete(id);
      pending.cancel();
      throw err;
    }
    return pending;
  }

  /**
   * Asks a listener of `path` that carries sessions (protocol/hyco/session-carrier.ts) for a
   * session carrier: an `accept` through the same pick + failover loop, among carrier-capable
   * listeners only. Undefined when the path has none (the caller relays message by message);
   * else a pending carrier whose `carrier` resolves once the listener dialled.
   */
  openCarrier(c: CarrierRequest): PendingCarrier | undefined {
    const o = this.#o;
    const listeners = this.registry.list(c.path);
    const notCarrying = new Set(listeners.filter((l) => !l.sessionKinds.includes(c.kind)).map((l) => l.listenerId));
    if (notCarrying.size === listeners.length) return undefined;
    const id = this.#idPrefix + o.newId();
    const pending = new PendingCarrier({
      id,
      path: c.path,
      timeoutMs: o.limits.rendezvousTimeoutMs,
      maxFramePayloadBytes: o.limits.maxFramePayloadBytes,
      maxTextMessageBytes: c.maxMessageBytes,
      clock: o.clock,
      logger: o.log.child({ endpoint: 'session', path: c.path, connId: id }),
      onSettled: (p, r) => {
        this.pendingAccepts.delete(p.id);
        this.#secrets.delete(p.id);
        o.metrics.wsConnections.inc({ path: c.path, result: r });
      },
    });
    this.pendingAccepts.set(id, pending);
    const capability = this.#mint(id);
    try {
      this.#dispatch(
        c.path,
        {},
        'accept',
        (listener) => {
          const address = `${(listener.rendezvousBase ?? o.rendezvousBase(listener.hostHeader))}/$hc${c.rest}?sb-hc-action=accept&sb-hc-id=${capability}`;
          return listener.sendJson(serializeAccept({ address, id, connectHeaders: c.connectHeaders, remoteEndpoint: c.remoteEndpoint }));
        },
        notCarrying,
      );
    } catch {
      // No carrying listener took it (they all went since the list was read).
      pending.cancel();
      return undefined;
    }
    return pending;
  }

  /**
   * Pick + failover, the one loop: picks a listener and offers it the call until one takes it
   * (`send` returns true). A listener that refuses (its channel closed since it was picked) is
   * excluded and the next is tried; `send` may throw to stop (a busy listener). `exclude` starts
   * with listeners that cannot take this kind of call (session carriers).
   */
  #dispatch(path: string, pinning: Pinning, kind: 'request' | 'accept', send: (listener: RouteListener) => boolean, exclude = new Set<string>()): void {
    // A draining node gives its own listeners no new calls (other nodes' listeners still take them).
    if (this.#draining) for (const l of this.registry.list(path)) if (!l.remote) exclude.add(l.listenerId);
    for (;;) {
      const picked = this.registry.pick(path, { allowed: pinning.allowedListeners, disallowed: pinning.disallowedListeners, exclude });
      if (!picked.listener) throw this.#noListener(path, kind, picked.reason ?? 'none');
      if (send(picked.listener)) return;
      exclude.add(picked.listener.listenerId);
    }
  }

  #noListener(path: string, kind: 'request' | 'accept', reason: 'none' | 'pinning'): RelayError {
    // No listener for a WebSocket sender: 404 (transient EndpointNotFound for .NET senders).
    if (kind === 'accept') return new EndpointNotFoundError('RELAY_ERR_ENTITY_NOT_FOUND', this.#o.describe('Endpoint does not exist.', path));
    if (reason === 'pinning') {
      return new RelayError('RELAY_ERR_LISTENER_PINNING', 'None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria');
    }
    return new RelayError('RELAY_ERR_NO_LISTENER', this.#o.describe(`No listener is connected for '${path}'.`, path));
  }

  /**
   * The per-call metrics sample (count by status, duration), for every relayed call and for
   * calls an endpoint refused before routing. Returns the duration, ms.
   */
  recordCall(path: string, operation: string, status: number, startedAt: number): number {
    const ms = this.#o.clock.now() - startedAt;
    this.#o.metrics.recordCall(path, operation, status, ms / 1000);
    return ms;
  }

  /** A listener connected (its store entry was written before its 101). */
  addListener(listener: RouteListener): void {
    this.registry.addLocal(listener);
    this.#o.metrics.listeners.set({ path: listener.path }, this.registry.count(listener.path));
    this.events.emit('listenerAdded', listener);
  }

  /** A listener on another node became routable from here (relay/cluster). */
  addRemoteListener(listener: RouteListener): void {
    this.registry.addRemote(listener);
    // The listeners gauge counts every node's listeners of the path (namespace-wide).
    this.#o.metrics.listeners.set({ path: listener.path }, this.registry.count(listener.path));
  }

  /** A listener on another node went away (or its node did): requests it took fail now. */
  removeRemoteListener(listener: RouteListener): void {
    this.registry.removeRemote(listener);
    this.#o.metrics.listeners.set({ path: listener.path }, this.registry.count(listener.path));
    this.#failTaken(listener);
  }

  #failTaken(listener: RouteListener): void {
    for (const id of listener.pending) {
      this.pendingRequests.get(id)?.fail(new RelayError('RELAY_ERR_LISTENER_GONE', 'The listener disconnected before it answered.'));
    }
  }

  /**
   * A response arrived on a control channel. It counts only on the channel the request was sent
   * on: a listener of another path (or another listener of this one) that learned the id is ignored.
   */
  onControlResponse(channel: RouteListener, response: ResponseCommand, body: Buffer | undefined): void {
    const pending = this.pendingRequests.get(response.requestId);
    if (!pending) {
      // Perhaps a request another node forwarded to this node's listener (relay/cluster).
      if (this.events.listenerCount('foreignResponse') > 0) return void this.events.emit('foreignResponse', channel, response, body);
      return channel.log.debug({ requestId: response.requestId }, 'response for an unknown or finished request');
    }
    if (pending.channel !== channel) {
      return channel.log.info({ requestId: response.requestId }, 'ignored a response for a request this channel was not sent');
    }
    pending.onControlResponse(response, body);
  }

  /**
   * A response on a control channel named its request but was invalid: that request fails (502
   * RELAY_ERR_TARGET_BAD_RESPONSE), only when it went out on this channel; the channel stays up.
   */
  onInvalidControlResponse(channel: RouteListener, requestId: string, err: RelayError): void {
    const pending = this.pendingRequests.get(requestId);
    if (!pending && this.events.listenerCount('foreignInvalidResponse') > 0) return void this.events.emit('foreignInvalidResponse', channel, requestId, err);
    if (!pending || pending.channel !== channel) return channel.log.debug({ requestId }, 'invalid response for a request this channel does not hold');
    pending.fail(new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', `The listener answered with an invalid response (${err.message}).`, { cause: err }));
  }

  /** A control channel closed: it leaves the registry, and requests it took and never answered fail now (never a hang). */
  onListenerClosed(channel: RouteListener): void {
    void this.registry.remove(channel).catch(() => undefined);
    this.#o.metrics.listeners.set({ path: channel.path }, this.registry.count(channel.path));
    this.#failTaken(channel);
    this.events.emit('listenerRemoved', channel);
  }

  /** The listener opened the rendezvous socket of a pending request (counted per path). */
  attachRendezvous(pending: PendingRequest, ep: WsEndpoint): void {
    this.#o.metrics.rendezvous.inc({ path: pending.entityPath });
    pending.attachRendezvous(ep);
  }

  /** The pending request a request-rendezvous address names (its `sb-hc-id`), when its secret matches. */
  rendezvousRequest(sbHcId: string): PendingRequest | undefined {
    const handle = this.#verify(sbHcId);
    return handle === undefined ? undefined : this.pendingRequests.get(handle);
  }

  /** The parked sender (or carrier) an accept-rendezvous address names (its `sb-hc-id`), when its secret matches. */
  rendezvousAccept(sbHcId: string): PendingAccept | PendingCarrier | undefined {
    const handle = this.#verify(sbHcId);
    return handle === undefined ? undefined : this.pendingAccepts.get(handle);
  }

  /** `{handle}_{secret}` for a new rendezvous; the secret is kept until the call is over. */
  #mint(handle: string): string {
    const secret = this.#o.newSecret();
    this.#secrets.set(handle, Buffer.from(secret, 'latin1'));
    return `${encodeURIComponent(handle)}_${secret}`;
  }

  /** The handle of a `{handle}_{secret}` rendezvous id whose secret matches, compared in constant time. */
  #verify(sbHcId: string): string | undefined {
    const at = sbHcId.lastIndexOf('_');
    if (at < 0) return undefined;
    const handle = sbHcId.slice(0, at);
    const expected = this.#secrets.get(handle);
    const given = Buffer.from(sbHcId.slice(at + 1), 'latin1');
    if (!expected || given.length !== expected.length) return undefined;
    return timingSafeEqual(given, expected) ? handle : undefined;
  }

  /**
   * Event distribution (an entity with `broadcast`): the message, whose whole body the endpoint
   * read, goes to every healthy listener of the path on this node and, through the cluster link
   * (the `broadcast` event), on every other node; no answer is awaited (answers that come are
   * dropped). Returns how many listeners of the namespace it went to; throws
   * RELAY_ERR_NO_LISTENER when there is none.
   */
  broadcast(request: RelayedRequest, body: Buffer): number {
    const startedAt = this.#o.clock.now();
    const remote = this.registry.list(request.path).filter((l) => l.remote && l.healthy).length;
    const message: BroadcastRequest = {
      id: this.#idPrefix + this.#o.newId(),
      target: request.target,
      method: request.method,
      headers: request.headers,
      remoteEndpoint: request.remoteEndpoint,
    };
    assertForwardableHeaders(request.headers as Record<string, string>, this.#o.limits.maxHeaderBytes);
    const local = this.deliverBroadcast(request.path, message, body);
    if (local + remote === 0) throw this.#noListener(request.path, 'request', 'none');
    if (remote > 0) this.events.emit('broadcast', request.path, message, body);
    this.recordCall(request.path, request.operation, 202, startedAt);
    return local + remote;
  }

  /** A broadcast message to this node's healthy listeners of `path` (one from another node, too); how many took it. */
  deliverBroadcast(path: string, message: BroadcastRequest, body: Buffer): number {
    let n = 0;
    for (const l of this.registry.list(path)) {
      if (l.remote) continue;
      // A listener that has not read what it was sent (a slow or stuck one) misses this message
      // rather than holding memory for it; the others are never held up by it.
      const behind = (l.bufferedBytes ?? 0) > BROADCAST_BACKLOG_BYTES;
      // An address no rendezvous answers: a listener that tries to answer that way gets 404.
      const address = `${l.rendezvousBase ?? this.#o.rendezvousBase(l.hostHeader)}/$hc/${encodePath(path)}?sb-hc-action=request&sb-hc-id=broadcast`;
      const delivered = l.healthy && !behind && l.sendRequest(inlineRequestJson(message.id, address, message, body.length > 0), body.length > 0 ? body : undefined);
      this.#o.metrics.broadcastDeliveries.inc({ path, listener: l.listenerId, result: delivered ? 'delivered' : 'dropped' });
      if (delivered) n++;
    }
    return n;
  }

  /** True once drain() was called: no new listeners, and this node's listeners take no new calls. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The start of a graceful stop (RelayServer.drain): this node's listeners take no new calls. */
  drain(): void {
    this.#draining = true;
  }

  /** Another relay node, reached at `url` (http(s)://host:port), for rendezvous minted there (relay/cluster). */
  addPeer(nodeId: string, url: string): void {
    this.#peers.set(nodeTag(nodeId), url);
  }

  removePeer(nodeId: string): void {
    this.#peers.delete(nodeTag(nodeId));
  }

  /**
   * The URL of the other node that minted rendezvous id `sbHcId` (a load balancer sent its
   * listener here), when that node is known; undefined for this node's own ids and any other.
   */
  peerFor(sbHcId: string): string | undefined {
    const dot = sbHcId.indexOf('.');
    if (dot <= 0) return undefined;
    const tag = sbHcId.slice(0, dot);
    return `${tag}.` === this.#idPrefix ? undefined : this.#peers.get(tag);
  }

  /** Shutdown: every listener channel closed, every parked sender dropped. */
  close(): void {
    for (const ch of this.registry.all()) if (!ch.remote) ch.close(1001, 'Relay shutting down');
    for (const p of this.pendingAccepts.values()) p.cancel();
  }
}

/** RELAY_ERR_BROADCAST_ONE_WAY for a SOAP request to a broadcast entity that waits for a reply (HTTP or net.tcp). */
export function broadcastTwoWayRefused(path: string): RelayError {
  return new RelayError('RELAY_ERR_BROADCAST_ONE_WAY', `'${path}' is a broadcast hybrid connection: it takes one-way operations only, and this request waits for a reply.`);
}
