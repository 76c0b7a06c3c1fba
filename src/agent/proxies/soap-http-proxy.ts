/**
 * SOAP awareness for a local HTTP service (wcf-wire.md §4.2-4.5):
 * - wsa:To is rewritten to the service's address, because WCF services drop messages whose To
 *   does not match their endpoint (the client addressed the relay);
 * - when the client's SOAP version is not one the service offers (declared in config, or read
 *   from the service's WSDL), the request is translated (SOAP 1.2 + WS-Addressing <-> SOAP 1.1 +
 *   SOAPAction) and so is the reply, faults included;
 * - failures on the private side (service down, timeout, oversize or garbled reply) reach a SOAP
 *   caller as a SOAP fault in its own version, with a correlation id; the private detail (the
 *   service's address, its answer) goes to the agent's log under that id;
 * - every answer that is not a SOAP message (Mono's empty 415 for the wrong SOAP version, an HTML
 *   error page, a JavaScript error text) becomes such a fault: only an empty 2xx (a one-way
 *   operation) goes back empty;
 * - with no declared version and no readable WSDL, the service's version is learned from its
 *   answers: a 415, or a VersionMismatch fault, to one version means the other. It is remembered
 *   per local path and that call is retried once in the other version.
 * Requests that are not SOAP (REST, other methods, non-envelope bodies) pass through untouched.
 */
import { randomUUID } from 'node:crypto';
import { RelayError } from '../../core/errors';
import { isBinarySoapContentType } from '../../protocol/hyco';
import type { Logger } from '../../core/logger';
import type { SoapVersion } from '../../protocol/soap/addressing';
import { envelopeVersionOfContentType as soapVersionOf } from '../../protocol/soap/http-request';
import { mayHaveAddressing, type AddressingInfo } from '../../protocol/soap/envelope';
import { inspectEnvelope, type EnvelopeInfo } from '../../protocol/soap/soap-message';
import { parseFault } from '../../protocol/soap/fault';
import { addressSoap12Fault, soap11RequestToSoap12, soap11ResponseToSoap12, soap12RequestToSoap11, soap12ResponseToSoap11 } from '../../protocol/soap/translate';
import type { XmlLimits } from '../../protocol/xml/limits';
import {
  acceptedResponse,
  actionNotSupportedResponse,
  bufferedResponse,
  classifyRequest,
  isWholeWsdl,
  errorJsonResponse,
  faultResponse,
  TargetAnswerError,
  headerValue,
  readBody,
  withoutHeaders,
  xmlLimitsFor,
} from '../soap/soap-http';
import { chooseServiceVersion, replyActionFor, type WsdlInfo, type WsdlOperation } from '../../protocol/soap/wsdl-info';
import { WsdlSource } from '../soap/wsdl-source';
import type { LocalRequest, LocalResponse } from './http-proxy';
import type { ServiceProxy } from './service-proxy';

/**
 * A back-end: where calls go after the SOAP front. A local HTTP service (HttpProxy), an
 * in-process `soap` server (module), or a WCF service over net.tcp (NetTcpProxy, declared SOAP
 * 1.2). It gets the message in the version the front chose, `To` rewritten, and answers with the
 * service's reply, an empty 2xx for a one-way call, or a thrown error.
 */
export interface SoapTransport {
  /**
   * One call. `envelope` is the front's reading of the message when the front read it and sends
   * it unchanged (a back-end that needs the envelope does not scan it again).
   */
  call(request: LocalRequest, envelope?: EnvelopeInfo): Promise<LocalResponse>;
  /** The back-end works on the envelope (ipc: dispatch by its Body): the front always reads it. */
  readonly wantsEnvelope?: boolean;
  /**
   * A call in binary XML (protocol/hyco/binary-soap.ts), answered in binary XML; failures thrown.
   * Offered to the relay while takesBinarySoap says so.
   */
  callBinary?(request: LocalRequest): Promise<LocalResponse>;
  readonly takesBinarySoap?: boolean;
  /** The local URL a relayed request target maps to (for wsa:To). */
  localUrl(requestTarget: string): URL;
  /** The service's base URL as configured (its WSDL is at `{url}?wsdl`); undefined when it has none over HTTP. */
  serviceUrl(): URL | undefined;
  /** The back-end's own reader of the service's WSDL, shared with the front (one read per target). */
  readonly wsdl?: WsdlSource;
  close(): void | Promise<void>;
}

export interface SoapHttpOptions {
  /** The service's SOAP version; undefined: from the WSDL, else learned from its answers ('auto'). */
  soapVersion?: SoapVersion;
  /** WSDL to read the version from in 'auto' mode (default: `{url}?wsdl`). */
  wsdlUrl?: string;
  /** A WSDL document served for `?wsdl`/`?singleWsdl` (and used for 'auto'). */
  wsdl?: string;
  rewriteTo: boolean;
  /**
   * Answer calls whose action (or, for an empty action, Body element) the WSDL does not name with
   * WCF's ActionNotSupported fault, in the caller's version, without calling the service. Default false.
   */
  knownActionsOnly?: boolean;
  /** wsa:To for the service; default the local URL of the call. */
  address?: string;
  maxMessageBytes: number;
  timeoutMs: number;
  ca?: string;
  rejectUnauthorized?: boolean;
  logger: Logger;
  newMessageId?: () => string;
}

/** Local paths whose SOAP version was learned from the service's answers (bounded). */
const MAX_LEARNED_PATHS = 1024;
/** Largest non-SOAP answer body kept for the log, bytes. */
const LOGGED_ANSWER_BYTES = 512;

/** What the service's answer to one attempt means. */
type Outcome = { readonly kind: 'reply'; readonly res: LocalResponse; readonly empty?: boolean } | { readonly kind: 'mismatch'; readonly status: number; readonly detail: string };

/** The caller's request as far as the SOAP layer read it. */
interface Call {
  readonly req: LocalRequest;
  readonly body: Buffer;
  readonly soapVersion: SoapVersion;
  /** Undefined on the fast path (a plain basicHttp call, not inspected). */
  info: EnvelopeInfo | undefined;
  readonly localPath: string;
}

export class SoapHttpProxy implements ServiceProxy {
  readonly #http: SoapTransport;
  readonly #o: SoapHttpOptions;
  readonly #limits: Partial<XmlLimits>;
  readonly #newMessageId: () => string;
  /** The version declared in the config, if any. */
  readonly #declared: readonly SoapVersion[] | undefined;
  readonly #wsdl: WsdlSource;
  /** Local path → the version the service answered in (or asked for with a 415). */
  readonly #learned = new Map<string, SoapVersion>();
  readonly #log: Logger;

  constructor(httpProxy: SoapTransport, options: SoapHttpOptions) {
    this.#http = httpProxy;
    this.#o = options;
    this.#log = options.logger;
    this.#limits = xmlLimitsFor(options.maxMessageBytes);
    this.#newMessageId = options.newMessageId ?? (() => `urn:uuid:${randomUUID()}`);
    this.#declared = options.soapVersion ? [options.soapVersion] : undefined;
    const serviceUrl = httpProxy.serviceUrl();
    this.#wsdl =
      httpProxy.wsdl ??
      new WsdlSource({
        text: options.wsdl,
        // `{url}?wsdl`: with the service's own path, never `{url}/?wsdl` (Mono answers that 500).
        url: options.wsdlUrl !== undefined || serviceUrl ? () => new URL(options.wsdlUrl ?? `${stripQuery(serviceUrl!.href)}?wsdl`) : undefined,
        timeoutMs: options.timeoutMs,
        ca: options.ca,
        rejectUnauthorized: options.rejectUnauthorized,
        logger: options.logger,
      });
  }

  close(): void | Promise<void> {
    return this.#http.close();
  }

  /**
   * Binary SOAP calls go straight to a back-end that takes them (nettcp): nothing to translate or
   * rewrite in text. Not with knownActionsOnly, whose check reads the text envelope.
   */
  get takesBinarySoap(): boolean {
    return this.#http.callBinary !== undefined && this.#http.takesBinarySoap === true && !this.#o.knownActionsOnly;
  }

  async call(req: LocalRequest): Promise<LocalResponse> {
    if (this.takesBinarySoap && isBinarySoapContentType(headerValue(req.headers, 'content-type'))) return this.#binary(req);
    const kind = classifyRequest(req);
    if (kind.kind === 'metadata' && this.#o.wsdl && isWholeWsdl(kind.query)) {
      return bufferedResponse(200, { 'content-type': 'text/xml; charset=utf-8' }, Buffer.from(this.#o.wsdl, 'utf8'), 'OK');
    }
    if (kind.kind !== 'soap') return this.#passThrough(req);

    let body: Buffer;
    try {
      body = await readBody(req.body, this.#o.maxMessageBytes);
    } catch (err) {
      return faultResponse(err, kind.soapVersion, undefined, this.#log, { id: req.id });
    }
    let localPath: string;
    try {
      localPath = this.#http.localUrl(req.requestTarget).pathname;
    } catch (err) {
      return faultResponse(err, kind.soapVersion, undefined, this.#log, { id: req.id });
    }
    // XML that is not an envelope (REST with a text/xml body): not a SOAP call, passed on as it is.
    if (!looksLikeEnvelope(body)) return this.#passThrough({ ...req, body });
    const call: Call = { req, body, soapVersion: kind.soapVersion, info: undefined, localPath };
    // The version the service takes and no WS-Addressing (a plain basicHttp call): nothing to
    // rewrite or translate, so the envelope goes on unscanned.
    if (!this.#o.knownActionsOnly && !this.#http.wantsEnvelope && !mayHaveAddressing(body) && (await this.#targetVersion(call)) === kind.soapVersion) return this.#attempts(call);
    try {
      call.info = inspectEnvelope(body, headerValue(req.headers, 'content-type'), headerValue(req.headers, 'soapaction'), this.#limits);
    } catch {
      // Not an envelope we understand (XML over REST, say): not ours to change.
      return this.#passThrough({ ...req, body });
    }
    if (this.#o.knownActionsOnly) {
      const contract = await this.#wsdl.info();
      const unknown = contract !== undefined && operationFor(contract, call.info) === undefined;
      if (unknown) return actionNotSupportedResponse(call.info.soapVersion, call.info.action, call.info.addressing, "The service's WSDL has no operation for it.");
    }
    return this.#attempts(call);
  }

  /** A binary SOAP 1.2 call (protocol/hyco/binary-soap.ts); a failure is a SOAP 1.2 fault in text. */
  async #binary(req: LocalRequest): Promise<LocalResponse> {
    try {
      return await this.#http.callBinary!(req);
    } catch (err) {
      return faultResponse(err, 'soap12', undefined, this.#log, { id: req.id });
    }
  }

  /** A request that is not a SOAP call: as it is; a failure is a JSON error with a correlation id. */
  async #passThrough(req: LocalRequest): Promise<LocalResponse> {
    try {
      return await this.#http.call(req);
    } catch (err) {
      return errorJsonResponse(err, this.#log, req.id);
    }
  }

  /** The call in the version the service takes; once more in the other one when the service says it has the other. */
  async #attempts(call: Call): Promise<LocalResponse> {
    const soapVersion = call.info?.soapVersion ?? call.soapVersion;
    try {
      let target = await this.#targetVersion(call);
      const first = await this.#attempt(call, target);
      if (first.kind === 'reply') return await this.#emptyAllowed(call, first);
      if (this.#declared) throw badResponse(first.status, first.detail);
      // Wrong version: the service takes the other one. Remember it for this path, and retry once.
      const other: SoapVersion = target === 'soap11' ? 'soap12' : 'soap11';
      this.#learn(call.localPath, other);
      this.#log.info({ localPath: call.localPath, tried: target, now: other, answer: first.detail }, 'the service takes the other SOAP version; retrying the call in it');
      target = other;
      const second = await this.#attempt(call, target);
      if (second.kind === 'reply') return await this.#emptyAllowed(call, second);
      throw badResponse(second.status, second.detail);
    } catch (err) {
      return faultResponse(err, soapVersion, call.info?.addressing, this.#log, { id: call.req.id });
    }
  }

  /**
   * An empty answer acknowledges a one-way call; to an operation the WSDL declares request-reply
   * the caller would wait for a reply that never comes (a WCF client: until its timeout), so it is
   * a TARGET_BAD_RESPONSE fault instead. Without a WSDL naming the operation, empty stays empty.
   */
  async #emptyAllowed(call: Call, outcome: Outcome & { kind: 'reply' }): Promise<LocalResponse> {
    if (!outcome.empty) return outcome.res;
    const contract = await this.#wsdl.info();
    if (!contract) return outcome.res;
    call.info ??= inspectEnvelope(call.body, headerValue(call.req.headers, 'content-type'), headerValue(call.req.headers, 'soapaction'), this.#limits);
    const op = operationFor(contract, call.info);
    if (op && !op.oneWay) throw badResponse(outcome.res.statusCode, `an empty ${outcome.res.statusCode} to '${op.name}', which the WSDL declares request-reply`);
    return outcome.res;
  }

  async #attempt(call: Call, target: SoapVersion): Promise<Outcome> {
    if (target !== call.soapVersion) {
      call.info ??= inspectEnvelope(call.body, headerValue(call.req.headers, 'content-type'), headerValue(call.req.headers, 'soapaction'), this.#limits);
      return this.#translated(call.req, call.body, call.info, this.#to(call.req));
    }
    const info = call.info;
    const out = info && this.#o.rewriteTo && info.addressing?.to !== undefined ? info.message.withTo(this.#to(call.req)).bytes : call.body;
    const res = await this.#http.call({ ...call.req, body: out }, out === call.body ? info : undefined);
    const checked = await this.#checked(res, target);
    return target === 'soap12' && checked.kind === 'reply' && checked.res.statusCode === 500 ? this.#addressedFault(call, checked) : checked;
  }

  /**
   * A SOAP 1.2 fault the service wrote without a WS-Addressing Action (SoapCore does), for a caller
   * that uses WS-Addressing: given the contract's fault action (from the WSDL), and RelatesTo,
   * so that a WCF client gets its typed FaultException<T> as from a WCF service.
   */
  async #addressedFault(call: Call, outcome: Outcome & { kind: 'reply' }): Promise<Outcome> {
    call.info ??= inspectEnvelope(call.body, headerValue(call.req.headers, 'content-type'), headerValue(call.req.headers, 'soapaction'), this.#limits);
    const info = call.info;
    if (!info.addressing) return outcome;
    const reply = await readBody(outcome.res.body, this.#o.maxMessageBytes);
    const buffered = (body: Buffer): Outcome => ({ kind: 'reply', res: bufferedResponse(outcome.res.statusCode, outcome.res.headers, body, outcome.res.statusMessage) });
    const contract = await this.#wsdl.info();
    const request = requestIds(info.addressing, info.action);
    let fixed;
    try {
      fixed = addressSoap12Fault(reply, {
        request,
        addressingVersion: info.addressing.version,
        faultAction: contract && ((detail) => replyActionFor(contract, request.action, { fault: true, detail })),
        limits: this.#limits,
      });
    } catch {
      return buffered(reply); // not a SOAP 1.2 message after all: as it came
    }
    if (!fixed) return buffered(reply);
    const headers = withoutHeaders(outcome.res.headers, ['content-length', 'content-encoding']);
    return { kind: 'reply', res: bufferedResponse(outcome.res.statusCode, headers, fixed.body, outcome.res.statusMessage) };
  }

  #to(req: LocalRequest): string {
    return this.#o.address ?? stripQuery(this.#http.localUrl(req.requestTarget).href);
  }

  /**
   * The service's answer, if it is a SOAP message of `version` (streamed on), an empty 2xx (one-way),
   * or else 'mismatch' (415, VersionMismatch) or a TARGET_BAD_RESPONSE error.
   */
  async #checked(res: LocalResponse, version: SoapVersion): Promise<Outcome> {
    const answered = soapVersionOf(res.headers['content-type']);
    if (answered !== undefined) {
      // A fault may be a VersionMismatch: read it (faults are small); other replies stream on.
      if (res.statusCode !== 500 || this.#declared) return { kind: 'reply', res };
      const reply = await readBody(res.body, this.#o.maxMessageBytes);
      let fault;
      try {
        fault = parseFault(reply, this.#limits);
      } catch {
        fault = undefined;
      }
      if (fault?.kind === 'VersionMismatch') return { kind: 'mismatch', status: res.statusCode, detail: `a VersionMismatch fault to SOAP ${label(version)}: ${fault.reason}` };
      return { kind: 'reply', res: bufferedResponse(res.statusCode, res.headers, reply, res.statusMessage) };
    }
    const { length, head } = await drain(res.body, this.#o.maxMessageBytes);
    if (length === 0 && res.statusCode >= 200 && res.statusCode < 300) return { kind: 'reply', res: bufferedResponse(res.statusCode, res.headers, Buffer.alloc(0), res.statusMessage), empty: true };
    const detail = describeAnswer(res, length, head);
    if (res.statusCode === 415) return { kind: 'mismatch', status: 415, detail: `${detail} to SOAP ${label(version)}` };
    throw badResponse(res.statusCode, `${detail}, not a SOAP ${label(version)} message`);
  }

  /** The call in the other SOAP version, and its reply translated back. */
  async #translated(req: LocalRequest, body: Buffer, info: EnvelopeInfo, to: string): Promise<Outcome> {
    const limits = this.#limits;
    const t =
      info.soapVersion === 'soap12'
        ? soap12RequestToSoap11(body, { action: info.action, limits })
        : soap11RequestToSoap12(body, { action: info.action, to, newMessageId: this.#newMessageId, limits });
    this.#log.debug({ action: info.action, from: info.soapVersion, to: t.soapVersion }, 'translating SOAP call');
    // The reply is re-encoded, so it must arrive uncompressed.
    const headers = { ...withoutHeaders(req.headers, ['content-type', 'soapaction', 'accept-encoding']), ...t.httpHeaders };
    // What the contract calls the reply (typed faults are matched by their action): the WSDL is
    // read while the call is under way.
    const wsdl = t.soapVersion === 'soap11' ? this.#wsdl.info() : undefined;
    const checked = await this.#checked(await this.#http.call({ ...req, headers, body: t.body }), t.soapVersion);
    if (checked.kind === 'mismatch') return checked;
    const res = checked.res;
    const reply = await readBody(res.body, this.#o.maxMessageBytes);
    if (reply.length === 0) return { kind: 'reply', res: acceptedResponse(), empty: true }; // one-way
    let back;
    if (t.soapVersion === 'soap11') {
      const contract = await wsdl;
      const request = requestIds(info.addressing, info.action);
      back = soap11ResponseToSoap12(reply, {
        request,
        addressingVersion: info.addressing?.version,
        responseAction: contract && replyActionFor(contract, request.action, { fault: false }),
        faultAction: contract && ((detail) => replyActionFor(contract, request.action, { fault: true, detail })),
        limits,
      });
    } else {
      back = soap12ResponseToSoap11(reply, { limits });
    }
    // A fresh object, so the added header is a plain property (a spread copy plus a new key costs V8 a new map per call).
    const out = withoutHeaders(res.headers, ['content-type', 'content-length', 'content-encoding']);
    out['content-type'] = back.contentType;
    return { kind: 'reply', res: bufferedResponse(res.statusCode, out, back.body, res.statusMessage) };
  }

  /** The version a call goes in: declared, else learned for its path, else from the WSDL, else the caller's. */
  async #targetVersion(call: Call): Promise<SoapVersion> {
    if (this.#declared) return chooseServiceVersion(call.soapVersion, this.#declared);
    const learned = this.#learned.get(call.localPath);
    if (learned) return learned;
    const versions = (await this.#wsdl.info())?.soapVersions;
    return chooseServiceVersion(call.soapVersion, versions?.length ? versions : undefined);
  }

  #learn(localPath: string, version: SoapVersion): void {
    if (!this.#learned.has(localPath) && this.#learned.size >= MAX_LEARNED_PATHS) this.#learned.delete(this.#learned.keys().next().value!);
    this.#learned.set(localPath, version);
  }

  /** The service's WSDL, read (tests). */
  wsdlInfo(): Promise<WsdlInfo | undefined> {
    return this.#wsdl.info();
  }
}

/** The document element is an `Envelope` (any prefix), after an XML declaration, comments, PIs or a BOM. */
const ENVELOPE_START = /^\uFEFF?\s*(?:<\?[^>]*\?>\s*|<!--[\s\S]*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?Envelope[\s>/]/;

function looksLikeEnvelope(body: Buffer): boolean {
  return ENVELOPE_START.test(body.subarray(0, 4096).toString('utf8'));
}

/** The WSDL operation a call is for: by its action, or (for an empty action) by its Body element. */
function operationFor(contract: WsdlInfo, info: EnvelopeInfo): WsdlOperation | undefined {
  const ops = contract.operations;
  const action = info.action;
  if (action !== undefined && action !== '') return ops.find((op) => op.inputActions.includes(action));
  const el = info.bodyFirstChild;
  return el && ops.find((op) => op.inputElement?.localName === el.localName && op.inputElement.namespaceUri === el.namespaceUri);
}

function label(v: SoapVersion): string {
  return v === 'soap11' ? '1.1' : '1.2';
}


function badResponse(statusCode: number, detail: string): RelayError {
  return new TargetAnswerError(statusCode, detail);
}

/** "HTTP 415 Unsupported Media Type with no body" / "... with text/html (1234 bytes: <html>…)". */
function describeAnswer(res: LocalResponse, length: number, head: Buffer): string {
  const status = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  if (length === 0) return `${status} with no body`;
  const text = head.toString('utf8').replace(/\s+/g, ' ').trim();
  return `${status} with ${res.headers['content-type'] ?? 'no content type'} (${length} bytes: ${JSON.stringify(text)})`;
}

/** Reads and drops a body, keeping its first LOGGED_ANSWER_BYTES (for the log); at most maxBytes are read. */
async function drain(body: LocalResponse['body'], maxBytes: number): Promise<{ length: number; head: Buffer }> {
  if (Buffer.isBuffer(body)) return { length: body.length, head: body.subarray(0, LOGGED_ANSWER_BYTES) };
  let length = 0;
  const head: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of body) {
      const c = chunk as Buffer;
      length += c.length;
      if (kept < LOGGED_ANSWER_BYTES) {
        head.push(c.subarray(0, LOGGED_ANSWER_BYTES - kept));
        kept += Math.min(c.length, LOGGED_ANSWER_BYTES - kept);
      }
      if (length > maxBytes) {
        body.destroy();
        break;
      }
    }
  } catch {
    /* a broken error body: what was read is enough to describe it */
  }
  return { length, head: Buffer.concat(head) };
}

function stripQuery(href: string): string {
  const q = href.indexOf('?');
  return q < 0 ? href : href.slice(0, q);
}

function requestIds(addressing: AddressingInfo | undefined, action: string | undefined): { action?: string; messageId?: string } {
  return { action: addressing?.action ?? action, messageId: addressing?.messageId };
}
