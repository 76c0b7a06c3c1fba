/**
 * HTTP senders: any method to `/{path}[/suffix][?query]` is relayed to a listener as a
 * control-channel `request` and answered with its `response` (hybrid-connections.md §3.2).
 * Errors: 404 unknown entity, 401/403 auth, 502 no listener, 504 listener silent, 413 body too
 * large, 503 listener saturated. A plain caller gets Azure's JSON error body; callers of other
 * kinds (SOAP) plug their own error writer through `errorWriterFor`, and the SOAP endpoint
 * (../http-soap) relays through `forward` with a body it has already read and inspected.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import { QuotaExceededError, RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import { lazyChild } from '../../../core/logger';
import type { RelayContext } from '../../context';
import type { RelayConfig } from '../../options';
import { httpFormOf } from '../../context';
import { parseListenerList } from '../../registry/listener-registry';
import { assertForwardableHeaders, headerBytes, headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from './http-headers';
import { discardRequestBody } from './discard-body';
import { dispatchToListener } from './dispatch';
import { PendingRequest, type ResponseSink } from './pending-request';
import { assertOperationAllowed, signingRule } from '../http-soap/operation-rules';
import { bodyTimeout } from '../http-soap/read-body';
import { idleWatch, type Clock } from '../../../core/clock';

export type ErrorWriter = (res: ResponseSink, err: RelayError) => void;

/** One request to relay (HttpSenderEndpoint.forward). */
export interface ForwardRequest {
  readonly entity: HybridConnection;
  /** Path and query for the listener (relay query parameters already removed). */
  readonly requestTarget: string;
  /** Request headers for the listener (listenerRequestHeaders). */
  readonly headers: Record<string, string>;
  /** The whole body when already read; undefined streams `req`. */
  readonly body?: Buffer;
  readonly writeError: ErrorWriter;
  /** The `operation` metrics label (default: the HTTP method). */
  readonly operation?: string;
  /** Called once with the final status (after metrics are recorded). */
  readonly onDone?: (status: number) => void;
}

const ERROR_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'EndpointNotFound',
  413: 'RequestEntityTooLarge',
  431: 'RequestHeaderFieldsTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServerBusy',
  504: 'GatewayTimeout',
};

/** Azure's JSON error body: {"error":{"code":"GatewayTimeout","message":"…"}}. */
export const writeJsonError: ErrorWriter = (res, err) => {
  const { status, message, code } = httpFormOf(err);
  const body = JSON.stringify({ error: { code: ERROR_NAMES[status] ?? 'Error', message, relayCode: code } });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
};

export class HttpSenderEndpoint {
  readonly #ctx: RelayContext;
  /** Chooses how relay-side errors look for this request (JSON by default). */
  errorWriterFor: (req: IncomingMessage) => ErrorWriter = () => writeJsonError;

  constructor(ctx: RelayContext) {
    this.#ctx = ctx;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const writeError = this.errorWriterFor(req);
    try {
      await this.#handle(req, res, writeError);
    } catch (err) {
      const e = toRelayError(err);
      if (e.code === 'RELAY_ERR_INTERNAL') this.#ctx.log.error({ err: e.message }, 'relay error on HTTP request');
      // A caller that stalled mid-body leaves a connection that cannot carry another request.
      if (e.code === 'RELAY_ERR_BODY_TIMEOUT' && !res.headersSent) res.setHeader('Connection', 'close');
      if (!res.headersSent) writeError(res, e);
      else res.destroy();
      discardRequestBody(req, res, this.#ctx.config.clock);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse, writeError: ErrorWriter): Promise<void> {
    const ctx = this.#ctx;
    const { pathname, search } = splitTarget(req.url ?? '/');
    const resolved = await ctx.resolveEntity(pathname);
    if (!resolved) throw ctx.endpointNotFound(pathname);
    const { entity } = resolved;
    const query = new URLSearchParams(search);
    const { result, source } = await ctx.authorize(entity, 'Send', req.headers, query);
    // A rule limited to listed SOAP operations does not let plain HTTP through.
    assertOperationAllowed(signingRule(entity, ctx.namespaceRules, result), undefined, entity.path);

    const limits = ctx.config.limits;
    const length = contentLength(req);
    if (length !== undefined && length > limits.maxRequestBodyBytes) {
      throw new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `The request body exceeds ${limits.maxRequestBodyBytes} bytes.`);
    }
    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: source === 'Authorization', viaHost });
    // Before the body is read: 431 for this caller, never a request its listener must refuse.
    assertForwardableHeaders(headers, limits.maxHeaderBytes);
    // Read whole when it may go on a control channel (the listener picked decides how large).
    const small = length !== undefined && length <= controlBodyMax(limits) && headerBytes(headers) <= limits.maxHeaderBytes;
    const body = small && length! > 0 ? await readBody(req, length!, { ms: limits.bodyIdleTimeoutMs, clock: ctx.config.clock }) : small ? Buffer.alloc(0) : undefined;
    await this.forward(req, res, { entity, requestTarget: pathname + stripRelayQuery(search), headers, body, writeError });
  }

  /**
   * Relays one request to a listener of `entity` and the listener's response to `res`. With
   * `body` the request body was read whole (it goes on the control channel when small enough,
   * else over rendezvous from memory); without it, `req` is streamed over rendezvous. Failures
   * before the response starts are written with `writeError`; nothing is thrown.
   */
  async forward(req: IncomingMessage, res: ResponseSink, f: ForwardRequest): Promise<void> {
    const ctx = this.#ctx;
    const { entity } = f;
    const limits = ctx.config.limits;
    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    try {
      // Every caller kind (plain HTTP, SOAP, metadata) passes here: headers the control message
      // cannot carry fail this caller (431, or a SOAP fault via its writeError), not the listener.
      assertForwardableHeaders(f.headers, limits.maxHeaderBytes);
    } catch (err) {
      const e = toRelayError(err);
      ctx.metrics.httpRequests.inc({ path: entity.path, operation: f.operation ?? req.method ?? 'GET', status: String(e.httpStatus ?? 431) });
      f.writeError(res, e);
      f.onDone?.(e.httpStatus ?? 431);
      if (res instanceof ServerResponse) discardRequestBody(req, res, ctx.config.clock);
      return;
    }
    const id = ctx.newId();
    const pending = new PendingRequest(
      {
        id,
        address: '',
        requestTarget: f.requestTarget,
        method: req.method ?? 'GET',
        headers: f.headers,
        remoteEndpoint: req.socket.remoteAddress
          ? { address: req.socket.remoteAddress, port: req.socket.remotePort ?? 0 }
          : undefined,
      },
      req,
      res,
      {
        entityPath: entity.path,
        requestTimeoutMs: limits.requestTimeoutMs,
        bodyIdleTimeoutMs: limits.bodyIdleTimeoutMs,
        viaHost,
        clock: ctx.config.clock,
        logger: lazyChild(ctx.log, { requestId: id, path: entity.path }),
        writeError: f.writeError,
        onDone: (p, status) => {
          this.#done(p, entity, status, f.operation);
          f.onDone?.(status);
        },
      },
    );
    ctx.pendingRequests.set(id, pending);
    // Kept for the rendezvous path too, when the picked channel takes smaller bodies.
    pending.body = f.body;
    if (pending.done) return;

    dispatchToListener(ctx, pending, entity, {
      controlBody: headerBytes(f.headers) <= limits.maxHeaderBytes ? f.body : undefined,
      allowed: parseListenerList(req.headers['microsoft-relay-allowedlisteners']),
      disallowed: parseListenerList(req.headers['microsoft-relay-disallowedlisteners']),
    });
  }

  #done(p: PendingRequest, entity: HybridConnection, status: number, label: string | undefined): void {
    const ctx = this.#ctx;
    ctx.pendingRequests.delete(p.parts.id);
    const operation = label ?? p.parts.method;
    ctx.metrics.httpRequests.inc({ path: entity.path, operation, status: String(status) });
    ctx.metrics.httpDuration.observe({ path: entity.path, operation }, (ctx.config.clock.now() - p.startedAt) / 1000);
  }
}

/** The largest body any control channel may take: the protocol's threshold or the agent extension's. */
export function controlBodyMax(limits: RelayConfig['limits']): number {
  return Math.max(limits.controlBodyThresholdBytes, limits.agentControlBodyBytes);
}

function contentLength(req: IncomingMessage): number | undefined {
  if (req.headers['transfer-encoding']) return undefined;
  const v = req.headers['content-length'];
  if (v === undefined) return req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE' || req.method === 'OPTIONS' ? 0 : undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Reads a body of known, small size; RELAY_ERR_BODY_TIMEOUT when the caller stops sending it. */
function readBody(req: IncomingMessage, length: number, idle: { ms: number; clock: Clock }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const watch = idleWatch(idle.clock, idle.ms, () => reject(bodyTimeout(idle.ms)));
    req.on('data', (c: Buffer) => {
      watch.touch();
      got += c.length;
      if (got > length) {
        watch.stop();
        reject(new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', 'The request body is longer than its Content-Length.'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      watch.stop();
      resolve(Buffer.concat(chunks, got));
    });
    req.on('error', (err) => {
      watch.stop();
      reject(err);
    });
  });
}
