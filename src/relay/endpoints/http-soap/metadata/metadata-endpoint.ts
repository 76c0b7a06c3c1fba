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
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QuotaExceededError, toRelayError, type RelayError } from '../../../../core/errors';
import type { Logger } from '../../../../core/logger';
import type { RelayContext } from '../../../context';
import { headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from '../../http-sender/http-headers';
import { encodePath } from '../../http-sender/dispatch';
import { writeJsonError, type HttpSenderEndpoint } from '../../http-sender/http-sender';
import type { ResponseSink } from '../../http-sender/pending-request';
import { formatBase, publicBase } from '../public-url';
import type { MetadataQuery } from '../soap-request';
import { MetadataCache, type CachedDocument } from './metadata-cache';
import { rewriteMetadata } from './rewrite';

/** Relay-side failures and listener statuses after which a cached document is served. */
const OFFLINE_CODES = new Set(['RELAY_ERR_NO_LISTENER', 'RELAY_ERR_LISTENER_GONE', 'RELAY_ERR_LISTENER_TIMEOUT', 'RELAY_ERR_TOO_BUSY']);
const OFFLINE_STATUSES = new Set([502, 503, 504]);

/** Request headers not passed to the agent: the relay needs the whole, uncompressed document. */
const DROP_REQUEST_HEADERS = new Set(['accept-encoding', 'if-none-match', 'if-modified-since', 'range', 'if-range']);

interface Captured {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A ResponseSink that keeps the listener's response in memory (up to a limit). */
class CapturedResponse extends EventEmitter implements ResponseSink {
  statusCode = 200;
  statusMessage = '';
  #headersSent = false;
  readonly #headers: Record<string, string> = {};
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #max: number;
  readonly result: Promise<Captured>;
  #resolve!: (c: Captured) => void;
  #reject!: (e: RelayError) => void;
  #settled = false;

  constructor(maxBytes: number) {
    super();
    this.#max = maxBytes;
    this.result = new Promise<Captured>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get headersSent(): boolean {
    return this.#headersSent;
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    return this;
  }

  write(chunk: Buffer): boolean {
    this.#headersSent = true;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#max) {
      this.fail(new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `The metadata document is larger than ${this.#max} bytes (limits.maxMetadataBytes).`));
      return true;
    }
    this.#chunks.push(Buffer.from(chunk));
    return true;
  }

  end(chunk?: Buffer | string): this {
    if (chunk !== undefined) this.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    this.#headersSent = true;
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve({ status: this.statusCode, headers: this.#headers, body: Buffer.concat(this.#chunks) });
    }
    return this;
  }

  flushHeaders(): void {
    this.#headersSent = true;
  }

  destroy(err?: Error): this {
    this.fail(err ? toRelayError(err) : toRelayError(new Error('the metadata response was cut')));
    return this;
  }

  /** Records a relay-side error (the ErrorWriter of the relayed GET). */
  fail(err: RelayError): void {
    if (this.#settled) return;
    this.#settled = true;
    if (!this.#headersSent) this.statusCode = err.httpStatus ?? 500;
    this.#headersSent = true;
    this.#reject(err);
  }
}

export class MetadataEndpoint {
  readonly #ctx: RelayContext;
  readonly #sender: HttpSenderEndpoint;
  readonly cache: MetadataCache;
  /**
   * A last step on each rewritten document (the relay adds its net.tcp endpoint to WSDLs when it
   * has one: net-tcp/metadata.ts). Errors keep the document as it was.
   */
  transformDocument: ((body: Buffer, doc: { entityPath: string; suffix: string; query: MetadataQuery }) => Buffer) | undefined;
  readonly #log: Logger;

  constructor(ctx: RelayContext, sender: HttpSenderEndpoint, cache: MetadataCache) {
    this.#ctx = ctx;
    this.#sender = sender;
    this.cache = cache;
    this.#log = ctx.log.child({ component: 'metadata' });
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

  async #handle(req: IncomingMessage, res: ServerResponse, query: MetadataQuery): Promise<void> {
    const ctx = this.#ctx;
    const { pathname, search } = splitTarget(req.url ?? '/');
    const resolved = await ctx.resolveEntity(pathname);
    if (!resolved) throw ctx.endpointNotFound(pathname);
    const { entity, suffix } = resolved;
    const params = new URLSearchParams(search);
    await ctx.authorize(entity, 'Send', req.headers, params);

    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: false, viaHost });
    for (const k of Object.keys(headers)) if (DROP_REQUEST_HEADERS.has(k.toLowerCase())) delete headers[k];
    const cacheKey = (suffix ? `${suffix.toLowerCase()}?` : '') + query.key;

    const sink = new CapturedResponse(ctx.config.limits.maxMetadataBytes);
    res.on('close', () => {
      if (!res.writableFinished) sink.emit('close');
    });
    const started = ctx.config.clock.now();
    void this.#sender.forward(req, sink, {
      entity,
      requestTarget: pathname + stripRelayQuery(search),
      headers,
      writeError: (_s, err) => sink.fail(err),
      operation: `GET ?${query.name}`,
    });

    let doc: CachedDocument | undefined;
    let cached = false;
    try {
      const got = await sink.result;
      if (got.status === 200 && got.body.length > 0) {
        doc = { body: got.body, contentType: got.headers['content-type'] ?? 'text/xml; charset=utf-8', storedAt: ctx.config.clock.now() };
        await this.cache.put(entity.path, cacheKey, doc);
      } else if (OFFLINE_STATUSES.has(got.status)) {
        doc = await this.cache.get(entity.path, cacheKey);
        cached = doc !== undefined;
      }
      if (!doc) {
        // The service's own answer (404 for an unknown xsd, ...), as it came.
        res.statusCode = got.status;
        for (const [k, v] of Object.entries(got.headers)) res.setHeader(k, v);
        res.setHeader('Content-Length', got.body.length);
        res.end(req.method === 'HEAD' ? undefined : got.body);
        return;
      }
    } catch (err) {
      const e = toRelayError(err);
      if (!OFFLINE_CODES.has(e.code)) throw e;
      doc = await this.cache.get(entity.path, cacheKey);
      if (!doc) throw e;
      cached = true;
    }

    const base = formatBase(publicBase(req.headers, { publicUrl: ctx.config.publicUrl, tls: ctx.tls }));
    const documentUrl = `${base}/${encodePath(entity.path)}${suffix ? `/${encodePath(suffix)}` : ''}`;
    const token = params.get('sb-hc-token');
    let body = doc.body;
    try {
      body = rewriteMetadata(doc.body, {
        documentUrl,
        linkQuery: token ? `sb-hc-token=${encodeURIComponent(token)}` : undefined,
        limits: { maxInputBytes: ctx.config.limits.maxMetadataBytes },
      }).body;
      if (this.transformDocument) body = this.transformDocument(body, { entityPath: entity.path, suffix, query });
    } catch (err) {
      // Not XML we can read: hand it over as the service wrote it.
      this.#log.info({ path: entity.path, query: query.key, err: (err as Error).message }, 'metadata document not rewritten');
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
