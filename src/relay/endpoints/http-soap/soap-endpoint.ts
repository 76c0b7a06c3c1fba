/**
 * The SOAP-over-HTTP endpoint (basicHttpRelay / wsHttpRelay style): POSTs to `/{path}` that are
 * SOAP 1.1 or 1.2 (protocol/soap/http-request.ts), and metadata GETs (metadata/). For each SOAP call:
 *   1. resolve the entity (unknown path: fault);
 *   2. check a transport token (ServiceBusAuthorization, Authorization, sb-hc-token) at once, so
 *      a bad token costs no body read;
 *   3. read the body whole (limits.maxSoapEnvelopeBytes, after gzip/deflate/br decoding); when
 *      the entity requires a token and none came in the transport, only a bounded head is read
 *      first (limits.preAuthSoapHeadBytes decoded, preAuthDecompressionRatio, within
 *      preAuthBodyTimeoutMs), holding one of the caller's unauthenticated slots
 *      (limits.maxUnauthenticated*): its RelayAccessToken authorizes the rest, and without one
 *      the call is refused (401 as a SOAP fault) and the rest never decoded;
 *   4. inspect the envelope up to the Body (version, action, WS-Addressing: protocol/soap);
 *   5. take the token from a RelayAccessToken SOAP header when there was none in the transport,
 *      and strip that header in any case (relay credentials never reach the service);
 *   6. check the rule's per-operation allow/deny lists against the action;
 *   7. hand the call to the router (routing/router.ts: control channel up to 64 KiB, else rendezvous).
 * Every relay-side failure becomes a SOAP fault of the caller's version (soap-faults.ts). One log
 * line (info) and one metrics sample per call, labelled with path and action.
 * MTOM requests are relayed as streams without inspection (their action comes from the
 * Content-Type); per-operation rules then see that action only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extractToken, type AuthorizeResult } from '../../../auth';
import type { Clock } from '../../../core/clock';
import { AuthError, QuotaExceededError, RelayError, toRelayError } from '../../../core/errors';
import type { Logger } from '../../../core/logger';
import { classifySoapContentType } from '../../../protocol/soap/content-type';
import { scanEnvelope } from '../../../protocol/soap/envelope';
import { inspectEnvelope, type EnvelopeInfo } from '../../../protocol/soap/soap-message';
import { faultFromError } from '../../../protocol/soap/fault';
import type { XmlLimits } from '../../../protocol/xml/limits';
import type { PreAuthSlot } from '../../guard/pre-auth-slots';
import type { EndpointDeps } from '../../deps';
import { assertOperationAllowed, signingRule } from '../../access/operation-rules';
import { correlationIdOf, noteCall } from '../../http/access-log';
import { discardRequestBody } from '../../http/discard-body';
import { dropHeader, headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from '../../http/http-headers';
import { parseListenerList } from '../../routing/listener-registry';
import { ServerResponseHandler } from '../../routing/response-handler';
import { broadcastTwoWayRefused } from '../../routing/router';
import type { MetadataEndpoint } from './metadata/metadata-endpoint';
import { readSoapBody, type PreAuthHead } from './read-body';
import { scanSoapHead } from '../../../protocol/soap/soap-head';
import { SoapFaultContext } from './soap-faults';
import { BroadcastContracts } from './broadcast-contract';
import { classifySoapHttpRequest, type SoapHttpRequest } from '../../../protocol/soap/http-request';

/** Metrics path label for requests to no known entity (keeps label values bounded). */
const UNKNOWN_PATH = '(unknown)';

export class SoapHttpEndpoint {
  readonly #ctx: EndpointDeps;
  readonly #metadata: MetadataEndpoint;
  readonly #log: Logger;
  readonly #xmlLimits: Partial<XmlLimits>;
  readonly #bodyIdle: { readonly ms: number; readonly clock: Clock };
  /** Broadcast entities' WSDLs: which operations wait for a reply (basicHttp messages do not say). */
  readonly #contracts: BroadcastContracts;

  constructor(ctx: EndpointDeps, metadata: MetadataEndpoint) {
    this.#ctx = ctx;
    this.#metadata = metadata;
    this.#log = ctx.log.child({ component: 'soap' });
    // The envelope may be as large as the body limit; only its head is tokenized.
    this.#xmlLimits = { maxInputBytes: ctx.config.limits.maxSoapEnvelopeBytes };
    this.#bodyIdle = { ms: ctx.config.limits.bodyIdleTimeoutMs, clock: ctx.config.clock };
    this.#contracts = new BroadcastContracts({ router: ctx.router, clock: ctx.config.clock, maxDocumentBytes: ctx.config.limits.maxMetadataBytes, log: this.#log });
  }

  /** The request's SOAP kind, or undefined when it is not for this endpoint. */
  claims(req: IncomingMessage): SoapRequestKind | undefined {
    const kind = classifySoapHttpRequest(req.method, splitTarget(req.url ?? '/').search, (name) => headerValue(req.headers, name));
    // A text/xml POST without SOAPAction is REST/XML as likely as SOAP: relayed as plain HTTP.
    return kind?.kind === 'xml' ? undefined : kind;
  }

  async handle(req: IncomingMessage, res: ServerResponse, kind: SoapRequestKind): Promise<void> {
    if (kind.kind === 'metadata') {
      await this.#metadata.handle(req, res, kind.query);
      return;
    }
    const ctx = this.#ctx;
    const started = ctx.config.clock.now();
    const fault = new SoapFaultContext(kind.version);
    const call: CallState = { path: UNKNOWN_PATH, action: undefined, bodyRead: false, stalled: false, slot: undefined };
    // What the access line reports (http/access-log.ts); `status` where the answer bypassed `res` (tarpit).
    const finish = (status: number): void => {
      const path = call.path === UNKNOWN_PATH ? undefined : call.path;
      noteCall(res, { path, operation: path ? ctx.router.labels.label(path, call.action) : undefined, status: res.headersSent ? undefined : status });
    };
    try {
      await this.#call(req, res, kind, fault, call, finish);
    } catch (err) {
      const e = toRelayError(err);
      if (e.code === 'RELAY_ERR_INTERNAL') this.#log.error({ err: e.message, path: call.path }, 'relay error on SOAP request');
      // Refused before the body was read (unknown path, bad token): a small body is still read
      // for its MessageID, so the fault carries RelatesTo as WCF correlates by it.
      if (!call.bodyRead && !kind.mtom && !res.headersSent) await this.#peekAddressing(req, fault, call);
      call.slot?.release();
      // A caller that stalled mid-body leaves a connection that cannot carry another request.
      if ((e.code === 'RELAY_ERR_BODY_TIMEOUT' || call.stalled) && !res.headersSent) res.setHeader('Connection', 'close');
      if (e.code === 'RELAY_ERR_UNAUTHENTICATED_LIMIT' && !res.headersSent) {
        // The answer now; the connection held (limits.tarpitMs) so a reconnect loop is slowed.
        ctx.guard.tarpit.refuseRequest(req, overLimitResponse(fault, e));
        ctx.router.recordCall(call.path, call.path === UNKNOWN_PATH ? 'POST' : ctx.router.labels.label(call.path, call.action), 429, started);
        finish(429);
        return;
      }
      if (!res.headersSent) fault.write(res, e);
      else res.destroy();
      // Leave no unread body behind on a keep-alive connection (dropped, never buffered; bounded).
      discardRequestBody(req, res, ctx.config.clock);
      const operation = call.path === UNKNOWN_PATH ? 'POST' : ctx.router.labels.label(call.path, call.action);
      ctx.router.recordCall(call.path, operation, res.statusCode, started);
      finish(res.statusCode);
    }
  }

  async #call(
    req: IncomingMessage,
    res: ServerResponse,
    kind: Extract<SoapRequestKind, { kind: 'soap' }>,
    fault: SoapFaultContext,
    call: CallState,
    finish: (status: number) => void,
  ): Promise<void> {
    const ctx = this.#ctx;
    const { pathname, search } = splitTarget(req.url ?? '/');
    const resolved = await ctx.access.resolveEntity(pathname);
    if (!resolved) throw ctx.access.endpointNotFound(pathname);
    const { entity } = resolved;
    call.path = entity.path;

    const query = new URLSearchParams(search);
    const { token, source } = extractToken({ headers: req.headers, query });
    const needsAuth = entity.requiresClientAuthorization;
    let auth: AuthorizeResult | undefined;
    if (needsAuth && token !== undefined) auth = ctx.access.authorizeToken(entity, 'Send', token);

    const contentType = headerValue(req.headers, 'content-type');
    let body: Buffer | undefined;
    let info: EnvelopeInfo | undefined;
    if (kind.mtom) {
      // MIME body: relayed as a stream; the action can only come from the Content-Type.
      call.action = classifySoapContentType(contentType).action;
      if (needsAuth && !auth) auth = ctx.access.authorizeToken(entity, 'Send', undefined);
    } else {
      call.bodyRead = true;
      // No transport token for an entity that needs one: only a bounded head until authorized.
      let preAuth: PreAuthHead | undefined;
      if (needsAuth && !auth) {
        call.slot = this.#takeSlot(req);
        preAuth = this.#preAuthHead((head) => {
          const verdict = scanSoapHead(head, false, this.#xmlLimits);
          if (verdict.head.soapVersion) fault.version = verdict.head.soapVersion;
          if (verdict.head.addressing) fault.addressing = verdict.head.addressing;
          if (verdict.state === 'token') {
            auth = ctx.access.authorizeToken(entity, 'Send', verdict.token); // throws when it does not authorize
            return 'authorized';
          }
          return verdict.state === 'incomplete' ? 'more' : 'refused';
        });
      }
      let read;
      try {
        read = await readSoapBody(req, { maxBytes: ctx.config.limits.maxSoapEnvelopeBytes, idle: this.#bodyIdle, preAuth });
      } finally {
        call.slot?.release();
      }
      body = read.body;
      info = inspectEnvelope(body, contentType, headerValue(req.headers, 'soapaction'), this.#xmlLimits);
      fault.version = info.soapVersion;
      if (info.addressing) fault.addressing = { version: info.addressing.version, messageId: info.addressing.messageId };
      call.action = info.action;
      const stripped = info.message.withoutRelayAccessToken(); // spliced out of the scanned message, not scanned again
      if (stripped.message !== info.message) {
        body = stripped.message.bytes;
        if (needsAuth && !auth) auth = ctx.access.authorizeToken(entity, 'Send', stripped.token);
      }
      if (needsAuth && !auth) auth = ctx.access.authorizeToken(entity, 'Send', undefined); // RELAY_ERR_SAS_MISSING
    }
    assertOperationAllowed(signingRule(entity, ctx.access.namespaceRules, auth), call.action, entity.path);

    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: source === 'Authorization', viaHost });
    if (body !== undefined) dropHeader(headers, 'content-encoding'); // the body was decoded
    const requestTarget = pathname + stripRelayQuery(search);
    if (entity.broadcast && body !== undefined) {
      // Event distribution: a one-way message for every listener on every node, answered 202 at once.
      // A request that waits for a reply: a WS-Addressing MessageID (Microsoft's clients send one
      // only on two-way operations), or, without addressing (basicHttp), an operation the
      // service's WSDL declares request-reply; with no WSDL to read, a message is one-way.
      const twoWay = info?.addressing?.messageId !== undefined || (!info?.addressing && (await this.#contracts.waitsForReply(entity.path, viaHost, call.action)));
      if (twoWay) throw broadcastTwoWayRefused(entity.path);
      const max = ctx.config.limits.controlBodyThresholdBytes;
      if (body.length > max) throw new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `A message to a broadcast hybrid connection is at most ${max} bytes.`);
      const operation = ctx.router.labels.label(entity.path, call.action);
      const listeners = ctx.router.broadcast({ path: entity.path, method: req.method ?? 'POST', target: requestTarget, headers, body, viaHost, operation }, body);
      res.writeHead(202, { 'Content-Length': '0', 'x-relaybridge-listeners': String(listeners) }).end();
      finish(202);
      return;
    }
    const relayed = ctx.router.request(
      {
        id: correlationIdOf(res),
        path: entity.path,
        method: req.method ?? 'POST',
        target: requestTarget,
        headers,
        body: body ?? req,
        remoteEndpoint: req.socket.remoteAddress ? { address: req.socket.remoteAddress, port: req.socket.remotePort ?? 0 } : undefined,
        viaHost,
        allowedListeners: parseListenerList(req.headers['microsoft-relay-allowedlisteners']),
        disallowedListeners: parseListenerList(req.headers['microsoft-relay-disallowedlisteners']),
        operation: ctx.router.labels.label(entity.path, call.action),
      },
      new ServerResponseHandler(res, fault.write, () => discardRequestBody(req, res, ctx.config.clock)),
      { onDone: (status) => finish(status), onListener: (listener) => noteCall(res, { listener }) },
    );
    res.on('close', () => relayed.cancel());
  }

  /**
   * An unauthenticated slot for this caller (its address as trustedProxies decides), or
   * RELAY_ERR_UNAUTHENTICATED_LIMIT when it, or everyone, holds too many.
   */
  #takeSlot(req: IncomingMessage): PreAuthSlot {
    const ctx = this.#ctx;
    const address = ctx.guard.clientAddresses.resolve(req.socket.remoteAddress, req.headers);
    const slot = ctx.guard.preAuthSlots.tryAcquire(address);
    if (slot) return slot;
    this.#log.info({ address, inUse: ctx.guard.preAuthSlots.inUse }, 'unauthenticated SOAP call over the cap');
    throw unauthenticatedLimit();
  }

  /**
   * The bounded head read for a caller that has not authorized. `judge` looks at the head for a
   * token: 'authorized' reads on under the full limits, 'more' waits for more bytes, 'refused'
   * (or a final head without a verdict) ends the call with RELAY_ERR_SAS_MISSING. A head that
   * is the whole body is returned as it is: the ordinary path inspects and authorizes it.
   */
  #preAuthHead(judge: (head: Buffer) => 'authorized' | 'more' | 'refused'): PreAuthHead {
    const { limits, clock } = this.#ctx.config;
    return {
      maxBytes: limits.preAuthSoapHeadBytes,
      maxRatio: limits.preAuthDecompressionRatio,
      deadlineMs: limits.preAuthBodyTimeoutMs,
      clock,
      decide: (head, final, ended) => {
        if (ended) return true;
        const verdict = judge(head);
        if (verdict === 'authorized') return true;
        if (verdict === 'more' && !final) return false;
        throw new AuthError(
          'RELAY_ERR_SAS_MISSING',
          'MissingToken: this hybrid connection requires a SharedAccessSignature token: send it in the ServiceBusAuthorization or Authorization header, ' +
            `or in a RelayAccessToken SOAP header within the first ${limits.preAuthSoapHeadBytes} bytes of the envelope (limits.preAuthSoapHeadBytes).`,
        );
      },
    };
  }

  /** Reads a body of at most PEEK_BYTES and takes its addressing headers for the fault. */
  async #peekAddressing(req: IncomingMessage, fault: SoapFaultContext, call: CallState): Promise<void> {
    const length = Number(req.headers['content-length']);
    if (req.complete || req.headers['transfer-encoding'] || !(length > 0 && length <= PEEK_BYTES)) return;
    call.bodyRead = true;
    // An unauthenticated caller: a slot, and the pre-auth deadline and ratio (never the idle timeout alone).
    const address = this.#ctx.guard.clientAddresses.resolve(req.socket.remoteAddress, req.headers);
    const slot = this.#ctx.guard.preAuthSlots.tryAcquire(address);
    if (!slot) return; // over the cap: the fault goes without RelatesTo
    const { limits, clock } = this.#ctx.config;
    const head: PreAuthHead = {
      maxBytes: PEEK_BYTES,
      maxRatio: limits.preAuthDecompressionRatio,
      deadlineMs: limits.preAuthBodyTimeoutMs,
      clock,
      decide: (_head, final, ended) => {
        if (ended) return true;
        if (final) throw new RelayError('RELAY_ERR_BODY_TOO_LARGE', 'The refused request body is larger than the relay reads for its MessageID.');
        return false;
      },
    };
    try {
      const { body } = await readSoapBody(req, { maxBytes: PEEK_BYTES, idle: this.#bodyIdle, preAuth: head });
      const structure = scanEnvelope(body, this.#xmlLimits);
      fault.version = structure.soapVersion;
      if (structure.addressing) fault.addressing = { version: structure.addressing.version, messageId: structure.addressing.messageId };
    } catch (err) {
      // Not an envelope: the fault goes without RelatesTo.
      if (toRelayError(err).code === 'RELAY_ERR_BODY_TIMEOUT') call.stalled = true;
    } finally {
      slot.release();
    }
  }
}

/** What this endpoint takes: SOAP POSTs and metadata GETs. */
type SoapRequestKind = Exclude<SoapHttpRequest, { kind: 'xml' }>;

interface CallState {
  path: string;
  action: string | undefined;
  bodyRead: boolean;
  /** The caller stopped sending its body (the connection is closed after the answer). */
  stalled: boolean;
  /** The unauthenticated slot held while the head is read. */
  slot: PreAuthSlot | undefined;
}

function unauthenticatedLimit(): RelayError {
  return new RelayError(
    'RELAY_ERR_UNAUTHENTICATED_LIMIT',
    'Too many unauthenticated calls are waiting on this relay (limits.maxUnauthenticatedPerAddress, limits.maxUnauthenticated); retry later, or send the token in a header.',
  );
}

/**
 * Over the unauthenticated cap: HTTP 429 with Retry-After (for proxies and back-off logic, not
 * the 500 of other SOAP faults), the fault as body, `Connection: close`; as raw bytes, for the
 * tarpit to write on the socket.
 */
function overLimitResponse(fault: SoapFaultContext, err: RelayError): Buffer {
  const built = faultFromError(err, fault.version, { addressing: fault.addressing });
  const head =
    `HTTP/1.1 429 Too Many Requests\r\nContent-Type: ${built.contentType}\r\nContent-Length: ${built.body.length}\r\nRetry-After: 1\r\n` +
    `Relaybridge-Error: ${err.code}\r\nRelaybridge-Status: 429\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), built.body]);
}

/** Largest body read only to find the MessageID of a request refused before its body, bytes. */
const PEEK_BYTES = 64 * 1024;
