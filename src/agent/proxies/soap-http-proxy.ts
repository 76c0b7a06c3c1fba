/**
 * SOAP awareness for a local HTTP service (wcf-wire.md §4.2-4.5):
 * - wsa:To is rewritten to the service's address, because WCF services drop messages whose To
 *   does not match their endpoint (the client addressed the relay);
 * - when the client's SOAP version is not one the service offers (declared in config, or read
 *   from the service's WSDL), the request is translated (SOAP 1.2 + WS-Addressing <-> SOAP 1.1 +
 *   SOAPAction) and so is the reply, faults included;
 * - failures on the private side (service down, timeout, oversize or garbled reply) reach a SOAP
 *   caller as a SOAP fault in its own version.
 * Requests that are not SOAP (REST, other methods, non-envelope bodies) pass through untouched.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { RelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { SoapVersion } from '../../protocol/soap/addressing';
import { classifySoapContentType } from '../../protocol/soap/content-type';
import { inspectEnvelope, mayHaveAddressing, rewriteAddressingTo, type AddressingInfo, type EnvelopeInfo } from '../../protocol/soap/envelope';
import { soap11RequestToSoap12, soap11ResponseToSoap12, soap12RequestToSoap11, soap12ResponseToSoap11 } from '../../protocol/soap/translate';
import type { XmlLimits } from '../../protocol/xml/limits';
import {
  acceptedResponse,
  bufferedResponse,
  classifyRequest,
  faultResponse,
  headerValue,
  readBody,
  withoutHeaders,
  xmlLimitsFor,
} from '../soap/soap-http';
import { chooseServiceVersion, MAX_WSDL_BYTES, parseWsdl, readWsdlInfo, replyActionFor, wsdlImports, type WsdlInfo } from '../soap/wsdl-info';
import type { XmlElement } from '../../protocol/xml/tree';
import type { LocalRequest, LocalResponse } from './http-proxy';
import type { ServiceProxy } from './service-proxy';

/** Where calls go after the SOAP layer: a local HTTP service (HttpProxy) or an in-process SOAP server. */
export interface SoapTransport {
  call(request: LocalRequest): Promise<LocalResponse>;
  /** The local URL a relayed request target maps to (for wsa:To and `?wsdl`). */
  localUrl(requestTarget: string): URL;
  close(): void | Promise<void>;
}

export interface SoapHttpOptions {
  /** The service's SOAP version; undefined: read it from the WSDL ('auto'). */
  soapVersion?: SoapVersion;
  /** WSDL to read the version from in 'auto' mode (default: the service's `?wsdl`). */
  wsdlUrl?: string;
  /** A WSDL document served for `?wsdl`/`?singleWsdl` (and used for 'auto'). */
  wsdl?: string;
  rewriteTo: boolean;
  /** wsa:To for the service; default the local URL of the call. */
  address?: string;
  maxMessageBytes: number;
  timeoutMs: number;
  ca?: string;
  rejectUnauthorized?: boolean;
  logger: Logger;
  newMessageId?: () => string;
}

/** How long a failed WSDL read is remembered before it is tried again, ms. */
const WSDL_RETRY_MS = 30_000;
/** Most documents read for one service WSDL (the WSDL and what it imports, as WCF splits it). */
const MAX_WSDL_DOCUMENTS = 8;

export class SoapHttpProxy implements ServiceProxy {
  readonly #http: SoapTransport;
  readonly #o: SoapHttpOptions;
  readonly #limits: Partial<XmlLimits>;
  readonly #newMessageId: () => string;
  /** The version declared in the config, if any. */
  readonly #declared: readonly SoapVersion[] | undefined;
  #wsdl: { info: WsdlInfo | undefined; at: number } | undefined;
  #wsdlPending: Promise<WsdlInfo | undefined> | undefined;

  constructor(httpProxy: SoapTransport, options: SoapHttpOptions) {
    this.#http = httpProxy;
    this.#o = options;
    this.#limits = xmlLimitsFor(options.maxMessageBytes);
    this.#newMessageId = options.newMessageId ?? (() => `urn:uuid:${randomUUID()}`);
    this.#declared = options.soapVersion ? [options.soapVersion] : undefined;
    if (options.wsdl) this.#wsdl = { info: safeInfo([options.wsdl], options.logger), at: Infinity };
  }

  close(): void | Promise<void> {
    return this.#http.close();
  }

  async call(req: LocalRequest): Promise<LocalResponse> {
    const kind = classifyRequest(req);
    if (kind.kind === 'metadata' && this.#o.wsdl && /^(wsdl|singlewsdl)$/i.test(kind.query)) {
      return bufferedResponse(200, { 'content-type': 'text/xml; charset=utf-8' }, Buffer.from(this.#o.wsdl, 'utf8'), 'OK');
    }
    if (kind.kind !== 'soap') return this.#http.call(req);

    let body: Buffer;
    try {
      body = await readBody(req.body, this.#o.maxMessageBytes);
    } catch (err) {
      return faultResponse(err, kind.soapVersion);
    }
    // The version the service takes and no WS-Addressing (a plain basicHttp call): nothing to
    // rewrite or translate, so the envelope goes on unscanned.
    if (!mayHaveAddressing(body) && chooseServiceVersion(kind.soapVersion, await this.#offeredVersions()) === kind.soapVersion) {
      try {
        return await this.#http.call({ ...req, body });
      } catch (err) {
        return faultResponse(err, kind.soapVersion);
      }
    }
    let info: EnvelopeInfo;
    try {
      info = inspectEnvelope(body, headerValue(req.headers, 'content-type'), headerValue(req.headers, 'soapaction'), this.#limits);
    } catch {
      // Not an envelope we understand (XML over REST, say): not ours to change.
      return this.#http.call({ ...req, body });
    }
    try {
      const target = chooseServiceVersion(info.soapVersion, await this.#offeredVersions());
      const to = this.#o.address ?? stripQuery(this.#http.localUrl(req.requestTarget).href);
      if (target === info.soapVersion) {
        const out = this.#o.rewriteTo && info.addressing?.to !== undefined ? rewriteAddressingTo(body, to, this.#limits).body : body;
        return await this.#http.call({ ...req, body: out });
      }
      return await this.#translated(req, body, info, to);
    } catch (err) {
      return faultResponse(err, info.soapVersion, info.addressing);
    }
  }

  /** The call in the other SOAP version, and its reply translated back. */
  async #translated(req: LocalRequest, body: Buffer, info: EnvelopeInfo, to: string): Promise<LocalResponse> {
    const limits = this.#limits;
    const t =
      info.soapVersion === 'soap12'
        ? soap12RequestToSoap11(body, { action: info.action, limits })
        : soap11RequestToSoap12(body, { action: info.action, to, newMessageId: this.#newMessageId, limits });
    this.#o.logger.debug({ action: info.action, from: info.soapVersion, to: t.soapVersion }, 'translating SOAP call');
    // The reply is re-encoded, so it must arrive uncompressed.
    const headers = { ...withoutHeaders(req.headers, ['content-type', 'soapaction', 'accept-encoding']), ...t.httpHeaders };
    // What the contract calls the reply (typed faults are matched by their action): the WSDL is
    // read while the call is under way.
    const wsdl = t.soapVersion === 'soap11' ? this.#wsdlInfo() : undefined;
    const res = await this.#http.call({ ...req, headers, body: t.body });
    const reply = await readBody(res.body, this.#o.maxMessageBytes);
    if (reply.length === 0 && res.statusCode < 300) return acceptedResponse(); // one-way
    const ct = res.headers['content-type'];
    let soap: boolean;
    try {
      soap = classifySoapContentType(ct).soapVersion === t.soapVersion;
    } catch {
      soap = false;
    }
    if (!soap) {
      throw new RelayError(
        'RELAY_ERR_TARGET_UNREACHABLE',
        `the local service answered HTTP ${res.statusCode} ${res.statusMessage} with ${ct ?? 'no content type'}, not a SOAP ${t.soapVersion === 'soap11' ? '1.1' : '1.2'} message`,
      );
    }
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
    const out = withoutHeaders(res.headers, ['content-type', 'content-length', 'content-encoding']);
    return bufferedResponse(res.statusCode, { ...out, 'content-type': back.contentType }, back.body, res.statusMessage);
  }

  /** Versions the service offers: declared, else from its WSDL. */
  async #offeredVersions(): Promise<readonly SoapVersion[] | undefined> {
    if (this.#declared) return this.#declared;
    const versions = (await this.#wsdlInfo())?.soapVersions;
    return versions?.length ? versions : undefined;
  }

  /** The service's WSDL, read: from the config, or fetched (once; a failure is retried after WSDL_RETRY_MS). */
  async #wsdlInfo(): Promise<WsdlInfo | undefined> {
    const cached = this.#wsdl;
    if (cached && Date.now() - cached.at < WSDL_RETRY_MS) return cached.info;
    this.#wsdlPending ??= this.#fetchWsdl()
      .then((docs) => safeInfo(docs, this.#o.logger))
      .catch((err: unknown) => {
        this.#o.logger.info({ err: (err as Error).message }, 'could not read the service WSDL; calls pass in the client SOAP version and translated replies get default actions');
        return undefined;
      })
      .then((info) => {
        this.#wsdl = { info, at: info ? Infinity : Date.now() };
        this.#wsdlPending = undefined;
        return info;
      });
    return this.#wsdlPending;
  }

  /** The WSDL and the documents it imports (`wsdl:import location`), parsed, at most MAX_WSDL_DOCUMENTS. */
  async #fetchWsdl(): Promise<XmlElement[]> {
    const first = new URL(this.#o.wsdlUrl ?? `${stripQuery(this.#http.localUrl('/').href)}?wsdl`);
    const queue = [first];
    const seen = new Set([first.href]);
    const docs: XmlElement[] = [];
    while (queue.length && docs.length < MAX_WSDL_DOCUMENTS) {
      const url = queue.shift()!;
      let root: XmlElement;
      try {
        root = parseWsdl(await this.#get(url));
      } catch (err) {
        if (url === first) throw err;
        // An import the agent cannot read (a host name only the service knows, say): what the
        // other documents say still counts.
        this.#o.logger.info({ err: (err as Error).message }, 'could not read a document the service WSDL imports');
        continue;
      }
      docs.push(root);
      for (const location of wsdlImports(root)) {
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          continue;
        }
        if ((next.protocol === 'http:' || next.protocol === 'https:') && !seen.has(next.href)) {
          seen.add(next.href);
          queue.push(next);
        }
      }
    }
    return docs;
  }

  #get(url: URL): Promise<string> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.get(url, { timeout: Math.min(this.#o.timeoutMs, 10_000), ca: this.#o.ca, rejectUnauthorized: this.#o.rejectUnauthorized }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_WSDL_BYTES) req.destroy(new Error(`GET ${url.href}: larger than ${MAX_WSDL_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${url.href}: HTTP ${res.statusCode}`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: timed out`)));
      req.on('error', reject);
    });
  }
}

function safeInfo(docs: readonly (string | XmlElement)[], logger: Logger): WsdlInfo | undefined {
  try {
    return readWsdlInfo(docs);
  } catch (err) {
    logger.info({ err: (err as Error).message }, 'the WSDL could not be read');
    return undefined;
  }
}

function stripQuery(href: string): string {
  const q = href.indexOf('?');
  return q < 0 ? href : href.slice(0, q);
}

function requestIds(addressing: AddressingInfo | undefined, action: string | undefined): { action?: string; messageId?: string } {
  return { action: addressing?.action ?? action, messageId: addressing?.messageId };
}
