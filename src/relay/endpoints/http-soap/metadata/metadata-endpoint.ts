/**
 * Metadata over HTTP GET (wcf-wire.md §7): `/{path}?wsdl`, `?wsdl=wsdl0`, `?singleWsdl`,
 * `?xsd=xsd0` (query names in any case). The relay asks the agent with an ordinary relayed GET,
 * rewrites every address and import to the relay's public URL (rewrite.ts, public-url.ts) and
 * answers. The agent's document is cached (metadata-cache.ts) and served, marked
 * `Relaybridge-Metadata: cached` with an `Age`, when the agent is offline, slow or answers 502-504.
 * Authorization is the Send right, as for calls. A token given as `sb-hc-token` in the query is
 * carried into the document's `?wsdl=`/`?xsd=` links, so tools that follow imports keep it.
 * Errors here are for metadata tools and browsers, so they are the plain JSON errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QuotaExceededError, RelayError, toRelayError } from '../../../../core/errors';
import type { Logger } from '../../../../core/logger';
import type { EndpointDeps } from '../../../deps';
import { encodePath, headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from '../../../http/http-headers';
import { correlationIdOf, noteCall } from '../../../http/access-log';
import { writeJsonError } from '../../../http/json-error';
import { parseListenerList } from '../../../routing/listener-registry';
import { BufferingHandler } from '../../../routing/response-handler';
import { formatBase, publicBase } from '../public-url';
import type { MetadataQuery } from '../../../../protocol/soap/http-request';
import { MetadataCache, type CachedDocument } from './metadata-cache';
import { rewriteMetadata } from './rewrite';

/** Relay-side failures and listener statuses after which a cached document is served. */
const OFFLINE_CODES = new Set(['RELAY_ERR_NO_LISTENER', 'RELAY_ERR_LISTENER_GONE', 'RELAY_ERR_LISTENER_TIMEOUT', 'RELAY_ERR_TOO_BUSY']);
const OFFLINE_STATUSES = new Set([502, 503, 504]);

/** Request headers not passed to the agent: the relay needs the whole, uncompressed document. */
const DROP_REQUEST_HEADERS = new Set(['accept-encoding', 'if-none-match', 'if-modified-since', 'range', 'if-range']);

interface Captured {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** A metadata answer is passed on only as an XML document (WSDL, XSD, DISCO). */
function isXmlDocument(got: Captured): boolean {
  const ct = got.headers['content-type'];
  if (ct !== undefined && !/^\s*(text\/xml|application\/(?:[\w.+-]+\+)?xml)\s*(;|$)/i.test(ct)) return false;
  return /^\uFEFF?\s*</.test(got.body.subarray(0, 64).toString('utf8')) && !/^\uFEFF?\s*<(!doctype\s+html|html)/i.test(got.body.subarray(0, 256).toString('utf8'));
}

export type DocumentTransform = (body: Buffer, doc: { entityPath: string; suffix: string; query: MetadataQuery }) => Buffer;

export interface MetadataEndpointOptions {
  /** Metadata documents kept for serving while agents are offline. */
  readonly cache: MetadataCache;
  /**
   * A last step on each rewritten document (the relay adds its net.tcp endpoint to WSDLs when it
   * has one: net-tcp/metadata.ts). Errors keep the document as it was.
   */
  readonly transformDocument?: DocumentTransform;
}

export class MetadataEndpoint {
  readonly #ctx: EndpointDeps;
  readonly cache: MetadataCache;
  readonly #transformDocument: DocumentTransform | undefined;
  readonly #log: Logger;

  constructor(deps: EndpointDeps, options: MetadataEndpointOptions) {
    this.#ctx = deps;
    this.cache = options.cache;
    this.#transformDocument = options.transformDocument;
    this.#log = deps.log.child({ component: 'metadata' });
  }

  async handle(req: IncomingMessage, res: ServerResponse, query: MetadataQuery): Promise<void> {
    try {
      await this.#handle(req, res, query);
    } catch (err) {
      const e = toRelayError(err);
      if (e.code === 'RELAY_ERR_INTERNAL') this.#log.error({ err: e.message }, 'relay error on metadata request');
      if (!res.headersSent) writeJsonError(res, e);
      else res.destroy();
    }
  }

  /** 404 (the service has no such document) or 502, with our own text and a correlation id the answer is logged under. */
  #notADocument(correlationId: string, path: string, query: string, got: Captured, why?: string): RelayError {
    this.#log.warn(
      { correlationId, path, query, status: got.status, contentType: got.headers['content-type'], answer: got.body.subarray(0, 512).toString('utf8'), err: why },
      'the service answered a metadata request with something that is not a metadata document',
    );
    const error =
      got.status === 404
        ? new RelayError('RELAY_ERR_ENTITY_NOT_FOUND', `The service has no metadata document for ?${query} (id ${correlationId}).`)
        : new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', `The service did not answer ?${query} with a metadata document (id ${correlationId}).`);
    return Object.assign(error, { correlationId });
  }

  async #handle(req: IncomingMessage, res: ServerResponse, query: MetadataQuery): Promise<void> {
    const ctx = this.#ctx;
    const { pathname, search } = splitTarget(req.url ?? '/');
    const resolved = await ctx.access.resolveEntity(pathname);
    if (!resolved) throw ctx.access.endpointNotFound(pathname);
    const { entity, suffix } = resolved;
    noteCall(res, { path: entity.path, operation: `GET ?${query.name}` });
    const params = new URLSearchParams(search);
    await ctx.access.authorize(entity, 'Send', req.headers, params);

    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: false, viaHost });
    for (const k of Object.keys(headers)) if (DROP_REQUEST_HEADERS.has(k.toLowerCase())) delete headers[k];
    const cacheKey = (suffix ? `${suffix.toLowerCase()}?` : '') + query.key;

    const max = ctx.config.limits.maxMetadataBytes;
    const handler = new BufferingHandler({
      maxBytes: max,
      tooLarge: () => new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `The metadata document is larger than ${max} bytes (limits.maxMetadataBytes).`),
    });
    const started = ctx.config.clock.now();
    const call = ctx.router.request(
      {
        id: correlationIdOf(res),
        path: entity.path,
        method: req.method ?? 'GET',
        target: pathname + stripRelayQuery(search),
        headers,
        body: req,
        remoteEndpoint: req.socket.remoteAddress ? { address: req.socket.remoteAddress, port: req.socket.remotePort ?? 0 } : undefined,
        viaHost,
        allowedListeners: parseListenerList(req.headers['microsoft-relay-allowedlisteners']),
        disallowedListeners: parseListenerList(req.headers['microsoft-relay-disallowedlisteners']),
        operation: `GET ?${query.name}`,
      },
      handler,
      { onListener: (listener) => noteCall(res, { listener }) },
    );
    res.on('close', () => {
      if (!res.writableFinished) call.cancel();
    });

    let doc: CachedDocument | undefined;
    let cached = false;
    try {
      const r = await handler.response;
      const got: Captured = { status: r.statusCode, headers: r.headers, body: r.body };
      if (got.status === 200 && got.body.length > 0 && isXmlDocument(got)) {
        doc = { body: got.body, contentType: got.headers['content-type'] ?? 'text/xml; charset=utf-8', storedAt: ctx.config.clock.now() };
        await this.cache.put(entity.path, cacheKey, doc);
      } else if (OFFLINE_STATUSES.has(got.status)) {
        doc = await this.cache.get(entity.path, cacheKey);
        cached = doc !== undefined;
      }
      if (!doc) {
        // Not a document: the service's own page (Mono's HTML help page, an error page) would
        // show its internal addresses, so the caller gets our text; the answer is logged.
        throw this.#notADocument(call.id, entity.path, query.key, got);
      }
    } catch (err) {
      const e = toRelayError(err);
      if (!OFFLINE_CODES.has(e.code)) throw e;
      doc = await this.cache.get(entity.path, cacheKey);
      if (!doc) throw e;
      cached = true;
    }

    const base = formatBase(publicBase(req.headers, { publicUrl: ctx.config.publicUrl, tls: !!ctx.config.tls }));
    const documentUrl = `${base}/${encodePath(entity.path)}${suffix ? `/${encodePath(suffix)}` : ''}`;
    const token = params.get('sb-hc-token');
    let body = doc.body;
    try {
      body = rewriteMetadata(doc.body, {
        documentUrl,
        linkQuery: token ? `sb-hc-token=${encodeURIComponent(token)}` : undefined,
        limits: { maxInputBytes: ctx.config.limits.maxMetadataBytes },
      }).body;
      if (this.#transformDocument) body = this.#transformDocument(body, { entityPath: entity.path, suffix, query });
    } catch (err) {
      // Not XML we can read: never handed over with its internal addresses.
      throw this.#notADocument(call.id, entity.path, query.key, { status: 200, headers: { 'content-type': doc.contentType }, body: doc.body }, (err as Error).message);
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', doc.contentType);
    res.setHeader('Content-Length', body.length);
    res.setHeader('Cache-Control', 'no-cache');
    if (cached) {
      res.setHeader('Relaybridge-Metadata', 'cached');
      res.setHeader('Age', String(Math.max(0, Math.floor((ctx.config.clock.now() - doc.storedAt) / 1000))));
    }
    res.end(req.method === 'HEAD' ? undefined : body);
    this.#log.info({ path: entity.path, query: query.key, cached, ms: ctx.config.clock.now() - started }, 'metadata served');
  }
}
