/**
 * WebSocket upgrades under `/$hc/`: listener control channels (`sb-hc-action=listen`),
 * WebSocket senders (`connect`), and the two rendezvous kinds (`accept`, `request`).
 * Every check (entity, token, quota) runs BEFORE the 101, and a listener is routable before
 * its 101 is written (hybrid-connections.md §10 item 1).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ProtocolError, QuotaExceededError, RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import { CONTROL_BODY_HEADER, NET_TCP_SESSION, SESSION_OFFER_HEADER, SOAP_BINARY_OFFER_HEADER, offerTokens, offersBinarySoap, parseControlBodyOffer, reasonPhrase } from '../../../protocol/hyco';
import { buildServerHandshakeResponse, validateClientHandshake } from '../../../protocol/websocket';
import { WsEndpoint } from '../../../transport/ws-endpoint';
import type { EndpointDeps } from '../../deps';
import { httpFormOf } from '../../http/json-error';
import { assertForwardableHeaders, splitTarget, stripRelayQuery, targetPathProblem } from '../../http/http-headers';
import { httpErrorResponse } from '../../http/raw-response';
import { FORWARDED_HEADER, forwardUpgrade } from '../../http/forward-upgrade';
import { parseListenerList } from '../../routing/listener-registry';
import { ControlChannel } from './control-channel';

export class UpgradeEndpoint {
  readonly #ctx: EndpointDeps;
  readonly #wss: WebSocketServer;
  readonly #failures = new Map<string, { second: number; count: number }>();

  constructor(ctx: EndpointDeps) {
    this.#ctx = ctx;
    // Control channels carry small JSON plus ≤64 KiB bodies: `ws` at message level is right here.
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false, // §10 item 4: never negotiate permessage-deflate
      maxPayload: ctx.config.limits.maxControlMessageBytes,
      clientTracking: false,
    });
    // A relaybridge agent offered larger control-channel bodies: say what we accept.
    this.#wss.on('headers', (headers, req) => {
      const n = this.#controlBodyLimit(req);
      if (n !== undefined) headers.push(`${CONTROL_BODY_HEADER}: ${n}`);
    });
  }

  /** The negotiated control-channel body size for a listener that offered one, else undefined. */
  #controlBodyLimit(req: IncomingMessage): number | undefined {
    const offer = parseControlBodyOffer(req.headers[CONTROL_BODY_HEADER]);
    const own = this.#ctx.config.limits.agentControlBodyBytes;
    return offer !== undefined && own > 0 ? Math.min(offer, own) : undefined;
  }

  close(): void {
    this.#wss.close();
  }

  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const { pathname, search } = splitTarget(req.url ?? '/');
    const query = new URLSearchParams(search);
    const action = query.get('sb-hc-action') ?? '';
    // The caller's address (trustedProxies: the rightmost untrusted X-Forwarded-For hop).
    const remote = this.#ctx.guard.clientAddresses.resolve(req.socket.remoteAddress, req.headers);
    const startedAt = this.#ctx.config.clock.now();
    try {
      if (!pathname.startsWith('/$hc/')) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'WebSocket upgrades are served under /$hc/ only.', { httpStatus: 404 });
      const rest = pathname.slice('/$hc'.length);
      switch (action) {
        case 'listen':
          return await this.#listen(req, socket, head, rest, query);
        case 'connect':
          return await this.#connect(req, socket, head, rest, search, query, { remote, startedAt });
        case 'accept':
          return await this.#acceptRendezvous(req, socket, head, rest, search, query);
        case 'request':
          return await this.#requestRendezvous(req, socket, head, rest, query);
        default:
          throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Unknown sb-hc-action '${action}'.`);
      }
    } catch (err) {
      const e = toRelayError(err);
      const { status, message } = httpFormOf(e);
      if (status >= 500) this.#ctx.log.warn({ err: e.message, action }, 'upgrade failed');
      else this.#ctx.log.debug({ err: e.message, action, status }, 'upgrade refused');
      this.#ctx.metrics.handshakeFailures.inc({ action: action || 'none', status: String(status) });
      this.#ctx.accessLog.call({
        startedAt,
        endpoint: 'websocket',
        method: 'GET',
        path: decodedPath(pathname),
        operation: action || undefined,
        status,
        code: e.code,
        ms: Math.round(this.#ctx.config.clock.now() - startedAt),
        remote,
      });
      // Refused before it authorized: the answer now, the close after limits.tarpitMs (unless the
      // caller hangs up first), so a reconnect loop cannot make the relay accept and refuse at will.
      const tarpit = this.#ctx.guard.tarpit;
      if (this.#noteFailure(remote)) return tarpit.refuse(socket, throttledResponse());
      tarpit.refuse(socket, httpErrorResponse(status, reasonPhrase(status), message));
    }
  }

  async #exactEntity(rest: string): Promise<HybridConnection> {
    const problem = targetPathProblem(rest);
    if (problem) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_TARGET', `Bad hybrid connection path: ${problem}.`);
    const path = decodeURIComponent(rest).replace(/^\/+|\/+$/g, '');
    const entity = path ? await this.#ctx.access.getEntity(path) : undefined;
    if (!entity) throw this.#ctx.access.endpointNotFound(path);
    return entity;
  }

  async #listen(req: IncomingMessage, socket: Duplex, head: Buffer, rest: string, query: URLSearchParams): Promise<void> {
    const ctx = this.#ctx;
    const entity = await this.#exactEntity(rest);
    const { result } = await ctx.access.authorize(entity, 'Listen', req.headers, query);
    if (ctx.router.draining) throw new RelayError('RELAY_ERR_DRAINING', 'This relay node is stopping; connect to another node of the namespace.');
    // Namespace-wide: the listeners of every node sharing the store count.
    if ((await ctx.router.registry.namespaceCount(entity.path)) >= ctx.config.limits.maxListenersPerPath) {
      throw new QuotaExceededError(
        'RELAY_ERR_LISTENER_QUOTA',
        `QuotaExceeded: at most ${ctx.config.limits.maxListenersPerPath} listeners may listen on '${entity.path}'.`,
      );
    }
    const listenerId = query.get('sb-hc-id') || randomUUID();
    const remoteAddress = req.socket.remoteAddress ?? '';
    const connectedAt = new Date(ctx.config.clock.now()).toISOString();
    const userAgent = (req.headers['user-agent'] ?? '').slice(0, 200) || undefined;
    // Routable before the 101: the store learns of the listener first.
    await ctx.router.registry.announce({
      path: entity.path,
      listenerId,
      nodeId: ctx.config.nodeId,
      connectedAt,
      remoteAddress,
    });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const channel: ControlChannel = new ControlChannel(
        ws,
        {
          onResponse: (ch, response, body) => ctx.router.onControlResponse(ch, response, body),
          onInvalidResponse: (ch, requestId, err) => ctx.router.onInvalidControlResponse(ch, requestId, err),
          renewToken: (ch, token) => ctx.access.authorizeToken(entity, 'Listen', token).expiresAt,
          onClosed: (ch) => ctx.router.onListenerClosed(ch),
        },
        {
          listenerId,
          path: entity.path,
          remoteAddress,
          connectedAt,
          userAgent,
          hostHeader: req.headers.host,
          controlBodyLimit: this.#controlBodyLimit(req) ?? ctx.config.limits.controlBodyThresholdBytes,
          sessionKinds: sessionKindsOffered(req),
          soapBinary: offersBinarySoap(req.headers[SOAP_BINARY_OFFER_HEADER]),
          tokenExpiresAt: result?.expiresAt ?? Number.MAX_SAFE_INTEGER,
          tokenGraceSeconds: ctx.config.tokenGraceSeconds,
          heartbeatIntervalMs: ctx.config.heartbeat.intervalMs,
          heartbeatMaxMissed: ctx.config.heartbeat.maxMissed,
          clock: ctx.config.clock,
          logger: ctx.log.child({ endpoint: 'control', path: entity.path, listenerId }),
        },
        socket,
      );
      ctx.router.addListener(channel);
      channel.log.info({ remoteAddress }, 'listener connected');
      ctx.accessLog.call({ startedAt: ctx.config.clock.now(), endpoint: 'websocket', method: 'GET', path: entity.path, operation: 'listen', status: 101, ms: 0, listener: listenerId, remote: remoteAddress });
    });
  }

  async #connect(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    rest: string,
    search: string,
    query: URLSearchParams,
    /** The caller's address and when its upgrade came (its access line). */
    call: { readonly remote: string; readonly startedAt: number },
  ): Promise<void> {
    const ctx = this.#ctx;
    const resolved = await ctx.access.resolveEntity(rest);
    if (!resolved) throw ctx.access.endpointNotFound(rest);
    const { entity } = resolved;
    const { source } = await ctx.access.authorize(entity, 'Send', req.headers, query);
    const { key, protocols } = validateClientHandshake(req.headers);
    const connectHeaders: Record<string, string> = {};
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (lower === 'servicebusauthorization' || (lower === 'authorization' && source === 'Authorization')) continue;
      connectHeaders[name] = connectHeaders[name] ? `${connectHeaders[name]}, ${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1]!;
    }
    // The accept command must carry them all: 431 to this sender, before any listener sees it.
    assertForwardableHeaders(connectHeaders, ctx.config.limits.maxHeaderBytes);
    const { remote, startedAt } = call;
    ctx.router.accept(req, socket, head, {
      onSettled: (id, result, status) =>
        ctx.accessLog.call({
          id,
          startedAt,
          endpoint: 'websocket',
          method: 'GET',
          path: entity.path,
          operation: 'connect',
          status: result === 'accepted' ? 101 : (status ?? (result === 'timeout' ? 504 : 499)),
          code: result === 'timeout' ? 'RELAY_ERR_RENDEZVOUS_TIMEOUT' : undefined,
          ms: Math.round(ctx.config.clock.now() - startedAt),
          remote,
        }),
      path: entity.path,
      rest,
      appQuery: stripRelayQuery(search).replace(/^\?/, ''),
      connectHeaders,
      remoteEndpoint: { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 },
      senderKey: key,
      senderProtocols: protocols,
      allowedListeners: parseListenerList(req.headers['microsoft-relay-allowedlisteners']),
      disallowedListeners: parseListenerList(req.headers['microsoft-relay-disallowedlisteners']),
      id: query.get('sb-hc-id') || undefined,
    });
  }

  /**
   * A rendezvous is bound to the path its call was routed on: the address the relay handed out
   * names that path, and an id presented under any other path is refused exactly like an unknown
   * one (so it tells a prober nothing).
   */
  async #samePath(rest: string, callPath: string, id: string): Promise<boolean> {
    const resolved = await this.#ctx.access.resolveEntity(rest);
    if (resolved && resolved.entity.path.toLowerCase() === callPath.toLowerCase()) return true;
    this.#ctx.log.info({ id, path: callPath }, 'refused a rendezvous presented under another path');
    return false;
  }

  async #acceptRendezvous(req: IncomingMessage, socket: Duplex, head: Buffer, rest: string, search: string, query: URLSearchParams): Promise<void> {
    const id = query.get('sb-hc-id') ?? '';
    const pending = this.#ctx.router.rendezvousAccept(id);
    if (!pending && this.#passOn(req, socket, head, id)) return;
    if (!pending || pending.settled || !(await this.#samePath(rest, pending.path, id)) || pending.settled) {
      throw new RelayError('RELAY_ERR_RENDEZVOUS_UNKNOWN', 'This rendezvous address is unknown, used or expired.');
    }
    const reject = rejectParams(search, query);
    if (reject) return pending.reject(socket, reject.status, reject.description);
    const { key } = validateClientHandshake(req.headers);
    const offered = req.headers['sec-websocket-protocol'];
    const protocol = typeof offered === 'string' ? offered.split(',')[0]!.trim() || undefined : undefined;
    pending.accept(socket, head, key, protocol, req.headers);
  }

  async #requestRendezvous(req: IncomingMessage, socket: Duplex, head: Buffer, rest: string, query: URLSearchParams): Promise<void> {
    const ctx = this.#ctx;
    const id = query.get('sb-hc-id') ?? '';
    const pending = ctx.router.rendezvousRequest(id);
    if (!pending && this.#passOn(req, socket, head, id)) return;
    if (!pending || pending.done || !(await this.#samePath(rest, pending.entityPath, id)) || pending.done) {
      throw new RelayError('RELAY_ERR_RENDEZVOUS_UNKNOWN', 'This rendezvous address is unknown, used or expired.');
    }
    const { key } = validateClientHandshake(req.headers);
    socket.write(buildServerHandshakeResponse({ key }));
    const ep = new WsEndpoint(socket, head, {
      role: 'server',
      mode: 'messages',
      maxFramePayloadBytes: ctx.config.limits.maxFramePayloadBytes,
      maxTextMessageBytes: ctx.config.limits.maxControlMessageBytes,
    });
    ctx.router.attachRendezvous(pending, ep);
    ep.start();
  }

  /**
   * A rendezvous another node minted (a load balancer sent the listener here, not to the node
   * named in the address): passed on to that node, which checks it. True when passed on. An
   * upgrade another node already passed on is never passed on again.
   */
  #passOn(req: IncomingMessage, socket: Duplex, head: Buffer, id: string): boolean {
    if (req.headers[FORWARDED_HEADER] !== undefined) return false;
    const to = this.#ctx.router.peerFor(id);
    if (!to) return false;
    const log = this.#ctx.log.child({ endpoint: 'rendezvous', to });
    log.debug('passed a rendezvous on to the node that minted it');
    forwardUpgrade(req, socket, head, {
      to,
      from: this.#ctx.config.nodeId,
      onConnected: () => this.#ctx.metrics.rendezvousPassedOn.inc({ result: 'ok' }),
      onError: (err) => {
        this.#ctx.metrics.rendezvousPassedOn.inc({ result: 'failed' });
        log.warn({ err: err.message }, 'could not pass a rendezvous on to the node that minted it');
      },
    });
    return true;
  }

  /**
   * Counts a failed handshake of `remote`; true when it is over
   * limits.maxFailedHandshakesPerSecond this second, so it gets 429 instead of its own error.
   * Only failures count and only a failing handshake is ever throttled: a correctly signed token,
   * or a rendezvous for a live call, from the same address (a NAT, a proxy, the agent itself)
   * always gets through. The throttle takes the prober's feedback (which key name, which id)
   * away, not its service.
   */
  #noteFailure(remote: string): boolean {
    const second = Math.floor(this.#ctx.config.clock.now() / 1000);
    const entry = this.#failures.get(remote);
    if (entry && entry.second === second) entry.count++;
    else {
      if (this.#failures.size > 10_000) this.#failures.clear();
      this.#failures.set(remote, { second, count: 1 });
    }
    return this.#throttled(remote);
  }

  #throttled(remote: string): boolean {
    const entry = this.#failures.get(remote);
    const second = Math.floor(this.#ctx.config.clock.now() / 1000);
    return !!entry && entry.second === second && entry.count > this.#ctx.config.limits.maxFailedHandshakesPerSecond;
  }
}

/** The session kinds a relaybridge listener offers to carry (x-relaybridge-sessions: a comma list). */
function sessionKindsOffered(req: IncomingMessage): string[] {
  return offerTokens(req.headers[SESSION_OFFER_HEADER]).filter((k) => k === NET_TCP_SESSION);
}

/** 429 with Retry-After for a failing handshake over the throttle. */
function throttledResponse(): string {
  return httpErrorResponse(429, reasonPhrase(429), 'Too many failed handshakes from this address; slow down.', 'Retry-After: 1\r\n');
}

/**
 * A reject is `sb-hc-statusCode`/`sb-hc-statusDescription` on the accept address, or the
 * un-prefixed `statusCode`/`statusDescription` the Node packages write — recognised only AFTER
 * the relay's own final parameter (sb-hc-id), so a sender's own query cannot fake a reject.
 */
export function rejectParams(search: string, query: URLSearchParams): { status: number; description: string } | undefined {
  let code = query.get('sb-hc-statusCode');
  let description = query.get('sb-hc-statusDescription');
  if (code === null) {
    const at = search.lastIndexOf('sb-hc-id=');
    if (at >= 0) {
      const tail = new URLSearchParams(search.slice(at).replace(/^[^&]*/, ''));
      code = tail.get('statusCode');
      description = tail.get('statusDescription');
    }
  }
  if (code === null) return undefined;
  const status = Number(code);
  if (!Number.isInteger(status) || status < 100 || status > 999) return { status: 400, description: description ?? 'Rejected' };
  return { status, description: description ?? '' };
}

/** The hybrid connection path of an upgrade's target (after /$hc/), for the access line. */
function decodedPath(pathname: string): string {
  const rest = pathname.startsWith('/$hc/') ? pathname.slice('/$hc/'.length) : pathname;
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}
