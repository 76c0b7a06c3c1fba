/**
 * One RPC envelope from a net.tcp session, relayed to a listener as an HTTP-shaped POST through
 * the same PendingRequest machinery HTTP senders use (control channel for small bodies,
 * rendezvous otherwise), with the listener's response collected in memory instead of written to
 * an HTTP socket.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import { lazyChild } from '../../../core/logger';
import type { RelayContext } from '../../context';
import { headerBytes } from '../http-sender/http-headers';
import { dispatchToListener } from '../http-sender/dispatch';
import { PendingRequest, type ResponseSink } from '../http-sender/pending-request';
import { OperationLabels } from '../http-soap/operation-labels';
import { describeNonSoapAnswer, CORRELATION_HEADER } from './soap-messages';

/**
 * Bounded `operation` labels for net.tcp calls, one set per relay (as the SOAP endpoint keeps
 * its own): a net.tcp call counts under its SOAP action, like the same call over HTTP.
 */
const LABELS = new WeakMap<RelayContext, OperationLabels>();

function labelsOf(ctx: RelayContext): OperationLabels {
  let labels = LABELS.get(ctx);
  if (!labels) {
    labels = new OperationLabels();
    LABELS.set(ctx, labels);
  }
  return labels;
}

export interface RpcRequest {
  readonly entity: HybridConnection;
  /** /{entity path}[/suffix] as the listener should see it. */
  readonly requestTarget: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly remoteEndpoint?: { address: string; port: number };
  /** The SOAP action (metrics label and log line; bounded per path like the SOAP endpoint's). */
  readonly action: string | undefined;
}

export interface RpcResponse {
  readonly statusCode: number;
  /** Header names lower-cased. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A ResponseSink that keeps the response in memory and settles a promise. */
class CollectedResponse extends EventEmitter implements ResponseSink {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  readonly headers: Record<string, string> = {};
  readonly #chunks: Buffer[] = [];
  #settled = false;
  readonly promise: Promise<RpcResponse>;
  #resolve!: (r: RpcResponse) => void;
  #reject!: (e: RelayError) => void;

  constructor() {
    super();
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    return this;
  }

  flushHeaders(): void {
    this.headersSent = true;
  }

  write(chunk: Buffer): boolean {
    this.headersSent = true;
    this.#chunks.push(chunk);
    return true;
  }

  end(chunk?: Buffer | string): this {
    if (chunk !== undefined) this.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    this.headersSent = true;
    if (!this.#settled) {
      this.#settled = true;
      this.#resolve({ statusCode: this.statusCode, headers: this.headers, body: Buffer.concat(this.#chunks) });
    }
    return this;
  }

  destroy(err?: Error): this {
    this.fail(toRelayError(err ?? new RelayError('RELAY_ERR_LISTENER_GONE', 'The relayed call was cut off.')));
    return this;
  }

  fail(err: RelayError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(err);
  }

  /** The caller went away (the net.tcp session closed): PendingRequest aborts the call. */
  cancel(): void {
    this.emit('close');
  }
}

export interface RpcCall {
  readonly promise: Promise<RpcResponse>;
  /** Abandons the call (its response, if any, is dropped). */
  cancel(): void;
}

/**
 * Sends `request` to a listener of its entity. Never throws: relay-side failures (no listener,
 * listener busy, timeout, listener gone) reject the returned promise with a RelayError.
 */
export function forwardRpc(ctx: RelayContext, request: RpcRequest): RpcCall {
  const sink = new CollectedResponse();
  const limits = ctx.config.limits;
  const id = ctx.newId();
  const { entity } = request;
  const operation = labelsOf(ctx).label(entity.path, request.action);
  const log = lazyChild(ctx.log, { requestId: id, path: entity.path, endpoint: 'net.tcp' });
  const pending = new PendingRequest(
    {
      id,
      address: '',
      requestTarget: request.requestTarget,
      method: 'POST',
      headers: request.headers,
      remoteEndpoint: request.remoteEndpoint,
    },
    Readable.from([]),
    sink,
    {
      entityPath: entity.path,
      requestTimeoutMs: limits.requestTimeoutMs,
      bodyIdleTimeoutMs: limits.bodyIdleTimeoutMs,
      viaHost: 'relaybridge',
      clock: ctx.config.clock,
      logger: log,
      writeError: (_res, err) => {
        // The caller gets a SOAP fault, which goes with HTTP 500 on the HTTP endpoint: counted so.
        sink.statusCode = 500;
        sink.fail(err);
      },
      onDone: (p, status) => {
        ctx.pendingRequests.delete(p.parts.id);
        const seconds = (ctx.config.clock.now() - p.startedAt) / 1000;
        ctx.metrics.httpRequests.inc({ path: entity.path, operation, status: String(status) });
        ctx.metrics.httpDuration.observe({ path: entity.path, operation }, seconds);
        // The SOAP endpoint's per-call line, for the same call over net.tcp.
        ctx.log.info(
          { endpoint: 'net.tcp', path: entity.path, action: request.action ?? '', status, ms: Math.round(seconds * 1000), bytes: request.body.length },
          'soap call',
        );
      },
    },
  );
  ctx.pendingRequests.set(id, pending);
  pending.body = request.body;
  dispatchToListener(ctx, pending, entity, { controlBody: headerBytes(request.headers) <= limits.maxHeaderBytes ? request.body : undefined });
  const promise = sink.promise.then((res) => {
    // A listener's answer that is not SOAP becomes a fault for the caller; what it was goes to
    // the log under the id the fault names.
    const detail = describeNonSoapAnswer(res);
    if (detail === undefined) return res;
    const correlationId = randomBytes(6).toString('hex');
    log.warn({ correlationId, answer: detail }, 'the listener answered a net.tcp call with something that is not a SOAP message');
    return { ...res, headers: { ...res.headers, [CORRELATION_HEADER]: correlationId } };
  });
  return { promise, cancel: () => sink.cancel() };
}
