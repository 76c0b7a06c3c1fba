/**
 * The SOAP-over-HTTP endpoint (basicHttpRelay / wsHttpRelay style): POSTs to `/{path}` that are
 * SOAP 1.1 or 1.2 (soap-request.ts), and metadata GETs (metadata/). For each SOAP call:
 *   1. resolve the entity (unknown path: fault);
 *   2. check a transport token (ServiceBusAuthorization, Authorization, sb-hc-token) at once, so
 *      a bad token costs no body read;
 *   3. read the body whole (limits.maxSoapEnvelopeBytes, after gzip/deflate/br decoding);
 *   4. inspect the envelope up to the Body (version, action, WS-Addressing: protocol/soap);
 *   5. take the token from a RelayAccessToken SOAP header when there was none in the transport,
 *      and strip that header in any case (relay credentials never reach the service);
 *   6. check the rule's per-operation allow/deny lists against the action;
 *   7. forward (HttpSenderEndpoint.forward: control channel up to 64 KiB, else rendezvous).
 * Every relay-side failure becomes a SOAP fault of the caller's version (soap-faults.ts). One log
 * line (info) and one metrics sample per call, labelled with path and action.
 * MTOM requests are relayed as streams without inspection (their action comes from the
 * Content-Type); per-operation rules then see that action only.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extractToken, type AuthorizeResult } from '../../../auth';
import type { Clock } from '../../../core/clock';
import { toRelayError } from '../../../core/errors';
import type { Logger } from '../../../core/logger';
import { RELAY_CONNECT_NS } from '../../../protocol/soap/addressing';
import { classifySoapContentType } from '../../../protocol/soap/content-type';
import { inspectEnvelope, scanEnvelope, stripRelayAccessToken, type EnvelopeInfo } from '../../../protocol/soap/envelope';
import type { XmlLimits } from '../../../protocol/xml/limits';
import type { RelayContext } from '../../context';
import { headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from '../http-sender/http-headers';
import { discardRequestBody } from '../http-sender/discard-body';
import type { HttpSenderEndpoint } from '../http-sender/http-sender';
import type { MetadataEndpoint } from './metadata/metadata-endpoint';
import { OperationLabels } from './operation-labels';
import { assertOperationAllowed, signingRule } from './operation-rules';
import { readSoapBody } from './read-body';
import { SoapFaultContext } from './soap-faults';
import { classifySoapRequest, type SoapRequestKind } from './soap-request';

/** Metrics path label for requests to no known entity (keeps label values bounded). */
const UNKNOWN_PATH = '(unknown)';

export class SoapHttpEndpoint {
  readonly #ctx: RelayContext;
  readonly #sender: HttpSenderEndpoint;
  readonly #metadata: MetadataEndpoint;
  readonly #labels = new OperationLabels();
  readonly #log: Logger;
  readonly #xmlLimits: Partial<XmlLimits>;
  readonly #bodyIdle: { readonly ms: number; readonly clock: Clock };

  constructor(ctx: RelayContext, sender: HttpSenderEndpoint, metadata: MetadataEndpoint) {
    this.#ctx = ctx;
    this.#sender = sender;
    this.#metadata = metadata;
    this.#log = ctx.log.child({ component: 'soap' });
    // The envelope may be as large as the body limit; only its head is tokenized.
    this.#xmlLimits = { maxInputBytes: ctx.config.limits.maxSoapEnvelopeBytes };
    this.#bodyIdle = { ms: ctx.config.limits.bodyIdleTimeoutMs, clock: ctx.config.clock };
  }

  /** The request's SOAP kind, or undefined when it is not for this endpoint. */
  claims(req: IncomingMessage): SoapRequestKind | undefined {
    return classifySoapRequest(req.method, splitTarget(req.url ?? '/').search, req.headers);
  }

  async handle(req: IncomingMessage, res: ServerResponse, kind: SoapRequestKind): Promise<void> {
    if (kind.kind === 'metadata') {
      await this.#metadata.handle(req, res, kind.query);
      return;
    }
    const ctx = this.#ctx;
    const started = ctx.config.clock.now();
    const fault = new SoapFaultContext(kind.version);
    const call: CallState = { path: UNKNOWN_PATH, action: undefined, requestBytes: 0, bodyRead: false, stalled: false };
    const finish = (status: number): void => {
      const ms = ctx.config.clock.now() - started;
      const sent = res.headersSent ? res.statusCode : status;
      this.#log.info({ path: call.path, action: call.action ?? '', status: sent, ms, bytes: call.requestBytes }, 'soap call');
    };
    try {
      await this.#call(req, res, kind, fault, call, finish);
    } catch (err) {
      const e = toRelayError(err);
      if (e.code === 'RELAY_ERR_INTERNAL') this.#log.error({ err: e.message, path: call.path }, 'relay error on SOAP request');
      // Refused before the body was read (unknown path, bad token): a small body is still read
      // for its MessageID, so the fault carries RelatesTo as WCF correlates by it.
      if (!call.bodyRead && !kind.mtom && !res.headersSent) await this.#peekAddressing(req, fault, call);
      // A caller that stalled mid-body leaves a connection that cannot carry another request.
      if ((e.code === 'RELAY_ERR_BODY_TIMEOUT' || call.stalled) && !res.headersSent) res.setHeader('Connection', 'close');
      if (!res.headersSent) fault.write(res, e);
      else res.destroy();
      // Leave no unread body behind on a keep-alive connection (dropped, never buffered; bounded).
      discardRequestBody(req, res, ctx.config.clock);
      const operation = call.path === UNKNOWN_PATH ? 'POST' : this.#labels.label(call.path, call.action);
      ctx.metrics.httpRequests.inc({ path: call.path, operation, status: String(res.statusCode) });
      ctx.metrics.httpDuration.observe({ path: call.path, operation }, (ctx.config.clock.now() - started) / 1000);
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
    const resolved = await ctx.resolveEntity(pathname);
    if (!resolved) throw ctx.endpointNotFound(pathname);
    const { entity } = resolved;
    call.path = entity.path;

    const query = new URLSearchParams(search);
    const { token, source } = extractToken({ headers: req.headers, query });
    const needsAuth = entity.requiresClientAuthorization;
    let auth: AuthorizeResult | undefined;
    if (needsAuth && token !== undefined) auth = ctx.authorizeToken(entity, 'Send', token);

    const contentType = headerValue(req.headers, 'content-type');
    let body: Buffer | undefined;
    let info: EnvelopeInfo | undefined;
    if (kind.mtom) {
      // MIME body: relayed as a stream; the action can only come from the Content-Type.
      call.action = classifySoapContentType(contentType).action;
      if (needsAuth && !auth) auth = ctx.authorizeToken(entity, 'Send', undefined);
    } else {
      call.bodyRead = true;
      const read = await readSoapBody(req, { maxBytes: ctx.config.limits.maxSoapEnvelopeBytes, idle: this.#bodyIdle });
      call.requestBytes = read.wireBytes;
      body = read.body;
      info = inspectEnvelope(body, contentType, headerValue(req.headers, 'soapaction'), this.#xmlLimits);
      fault.version = info.soapVersion;
      if (info.addressing) fault.addressing = { version: info.addressing.version, messageId: info.addressing.messageId };
      call.action = info.action;
      if (info.headers.some((h) => h.localName === 'RelayAccessToken' && h.namespaceUri === RELAY_CONNECT_NS)) {
        const stripped = stripRelayAccessToken(body, this.#xmlLimits);
        body = stripped.body;
        if (needsAuth && !auth) auth = ctx.authorizeToken(entity, 'Send', stripped.token);
      }
      if (needsAuth && !auth) auth = ctx.authorizeToken(entity, 'Send', undefined); // RELAY_ERR_SAS_MISSING
    }
    assertOperationAllowed(signingRule(entity, ctx.namespaceRules, auth), call.action, entity.path);

    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: source === 'Authorization', viaHost });
    if (body !== undefined) dropHeader(headers, 'content-encoding'); // the body was decoded
    const requestTarget = pathname + stripRelayQuery(search);
    const operation = this.#labels.label(entity.path, call.action);
    await this.#sender.forward(req, res, {
      entity,
      requestTarget,
      headers,
      body,
      writeError: fault.write,
      operation,
      onDone: (status) => finish(status),
    });
  }

  /** Reads a body of at most PEEK_BYTES and takes its addressing headers for the fault. */
  async #peekAddressing(req: IncomingMessage, fault: SoapFaultContext, call: CallState): Promise<void> {
    const length = Number(req.headers['content-length']);
    if (req.complete || req.headers['transfer-encoding'] || !(length > 0 && length <= PEEK_BYTES)) return;
    call.bodyRead = true;
    try {
      const { body } = await readSoapBody(req, { maxBytes: PEEK_BYTES, idle: this.#bodyIdle });
      const structure = scanEnvelope(body, this.#xmlLimits);
      fault.version = structure.soapVersion;
      if (structure.addressing) fault.addressing = { version: structure.addressing.version, messageId: structure.addressing.messageId };
    } catch (err) {
      // Not an envelope: the fault goes without RelatesTo.
      if (toRelayError(err).code === 'RELAY_ERR_BODY_TIMEOUT') call.stalled = true;
    }
  }
}

interface CallState {
  path: string;
  action: string | undefined;
  requestBytes: number;
  bodyRead: boolean;
  /** The caller stopped sending its body (the connection is closed after the answer). */
  stalled: boolean;
}

/** Largest body read only to find the MessageID of a request refused before its body, bytes. */
const PEEK_BYTES = 64 * 1024;

function dropHeader(headers: Record<string, string>, lowerName: string): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lowerName) delete headers[k];
}
