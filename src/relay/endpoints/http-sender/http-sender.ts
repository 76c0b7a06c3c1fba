/**
 * HTTP senders: any method to `/{path}[/suffix][?query]` is relayed to a listener as a
 * control-channel `request` and answered with its `response` (hybrid-connections.md §3.2).
 * Errors: 404 unknown entity, 401/403 auth, 502 no listener, 504 listener silent, 413 body too
 * large, 503 listener saturated. A plain caller gets Azure's JSON error body; callers of other
 * kinds (SOAP) plug their own error writer through the `errorWriterFor` option. The call itself is the
 * router's (routing/router.ts): this endpoint only turns an IncomingMessage into a relayed request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QuotaExceededError, RelayError, toRelayError } from '../../../core/errors';
import { idleWatch, type Clock } from '../../../core/clock';
import { assertOperationAllowed, signingRule } from '../../access/operation-rules';
import type { EndpointDeps } from '../../deps';
import { correlationIdOf, noteCall } from '../../http/access-log';
import { bodyTimeout } from '../../http/body';
import { discardRequestBody } from '../../http/discard-body';
import { assertForwardableHeaders, headerBytes, headerValue, listenerRequestHeaders, splitTarget, stripRelayQuery } from '../../http/http-headers';
import { writeJsonError, type ErrorWriter } from '../../http/json-error';
import type { RelayConfig } from '../../options';
import { parseListenerList } from '../../routing/listener-registry';
import { ServerResponseHandler } from '../../routing/response-handler';

export interface HttpSenderOptions {
  /** Chooses how relay-side errors look for a request (JSON by default; SOAP-looking callers get faults). */
  readonly errorWriterFor?: (req: IncomingMessage) => ErrorWriter;
}

export class HttpSenderEndpoint {
  readonly #ctx: EndpointDeps;
  readonly #errorWriterFor: (req: IncomingMessage) => ErrorWriter;

  constructor(deps: EndpointDeps, options: HttpSenderOptions = {}) {
    this.#ctx = deps;
    this.#errorWriterFor = options.errorWriterFor ?? (() => writeJsonError);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const writeError = this.#errorWriterFor(req);
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
    const resolved = await ctx.access.resolveEntity(pathname);
    if (!resolved) throw ctx.access.endpointNotFound(pathname);
    const { entity } = resolved;
    noteCall(res, { path: entity.path, operation: req.method ?? 'GET' });
    const query = new URLSearchParams(search);
    const { result, source } = await ctx.access.authorize(entity, 'Send', req.headers, query);
    // A rule limited to listed SOAP operations does not let plain HTTP through.
    assertOperationAllowed(signingRule(entity, ctx.access.namespaceRules, result), undefined, entity.path);

    const limits = ctx.config.limits;
    const length = contentLength(req);
    if (length !== undefined && length > limits.maxRequestBodyBytes) {
      throw new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `The request body exceeds ${limits.maxRequestBodyBytes} bytes.`);
    }
    const viaHost = headerValue(req.headers, 'host') ?? 'relaybridge';
    const headers = listenerRequestHeaders(req.rawHeaders, { stripAuthorization: source === 'Authorization', viaHost });
    // Before the body is read: 431 for this caller, never a request its listener must refuse.
    assertForwardableHeaders(headers, limits.maxHeaderBytes);
    if (entity.broadcast) return this.#broadcast(req, res, entity.path, pathname + stripRelayQuery(search), headers, length, viaHost);
    // Read whole when it may go on a control channel (the listener picked decides how large).
    const small = length !== undefined && length <= controlBodyMax(limits) && headerBytes(headers) <= limits.maxHeaderBytes;
    const body = small && length! > 0 ? await readBody(req, length!, { ms: limits.bodyIdleTimeoutMs, clock: ctx.config.clock }) : small ? Buffer.alloc(0) : undefined;
    const call = this.#ctx.router.request(
      {
        id: correlationIdOf(res),
        path: entity.path,
        method: req.method ?? 'GET',
        target: pathname + stripRelayQuery(search),
        headers,
        body: body ?? req,
        remoteEndpoint: req.socket.remoteAddress ? { address: req.socket.remoteAddress, port: req.socket.remotePort ?? 0 } : undefined,
        viaHost,
        allowedListeners: parseListenerList(req.headers['microsoft-relay-allowedlisteners']),
        disallowedListeners: parseListenerList(req.headers['microsoft-relay-disallowedlisteners']),
        operation: req.method ?? 'GET',
      },
      new ServerResponseHandler(res, writeError, () => discardRequestBody(req, res, this.#ctx.config.clock)),
      { onListener: (listener) => noteCall(res, { listener }) },
    );
    res.on('close', () => call.cancel());
  }

  /**
   * A message to a broadcast entity (event distribution): read whole (at most the protocol's
   * control-channel body size, so every listener, Microsoft's too, takes it inline), handed to
   * every listener of the path on every node, and answered 202 at once with the number of
   * listeners it went to in `x-relaybridge-listeners`.
   */
  async #broadcast(req: IncomingMessage, res: ServerResponse, path: string, target: string, headers: Record<string, string>, length: number | undefined, viaHost: string): Promise<void> {
    const { limits, clock } = this.#ctx.config;
    // Every listener gets it and nobody's answer comes back: a call that waits for one is refused.
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' || method === 'HEAD') {
      throw new RelayError('RELAY_ERR_BROADCAST_ONE_WAY', `'${path}' is a broadcast hybrid connection: it takes one-way messages (POST, PUT), answered 202, not ${method}.`);
    }
    const max = limits.controlBodyThresholdBytes;
    if (length !== undefined && length > max) {
      throw new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `A message to a broadcast hybrid connection is at most ${max} bytes.`);
    }
    // A chunked body is read up to the same bound.
    const body = length === 0 ? Buffer.alloc(0) : await readBody(req, length ?? max, { ms: limits.bodyIdleTimeoutMs, clock });
    const listeners = this.#ctx.router.broadcast(
      {
        path,
        method: req.method ?? 'POST',
        target,
        headers,
        body,
        remoteEndpoint: req.socket.remoteAddress ? { address: req.socket.remoteAddress, port: req.socket.remotePort ?? 0 } : undefined,
        viaHost,
        operation: req.method ?? 'POST',
      },
      body,
    );
    res.writeHead(202, { 'Content-Length': '0', 'x-relaybridge-listeners': String(listeners) }).end();
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
