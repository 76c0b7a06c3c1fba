/**
 * One RPC envelope from a net.tcp session, relayed to a listener as an HTTP-shaped POST through
 * the router (control channel for small bodies, rendezvous otherwise), with the listener's
 * response collected in memory (BufferingHandler) instead of written to an HTTP socket.
 */
import type { HybridConnection } from '../../../core/entities';
import { lazyChild } from '../../../core/logger';
import type { EndpointDeps } from '../../deps';
import type { RequestForm } from '../../routing/pending-request';
import { BufferingHandler } from '../../routing/response-handler';
import { describeNonSoapAnswer, CORRELATION_HEADER } from './soap-messages';

export interface RpcRequest {
  readonly entity: HybridConnection;
  /** /{entity path}[/suffix] as the listener should see it. */
  readonly requestTarget: string;
  readonly headers: Record<string, string>;
  /** The SOAP 1.2 text, made when first needed (a listener that takes binary never needs it). */
  readonly body: () => Buffer;
  /** The size of the envelope as the client sent it (the access line's bytesIn). */
  readonly bytesIn: number;
  /** The same call as binary XML, for a listener that takes it (RelayedRequest.binary). */
  readonly binary?: () => RequestForm;
  readonly remoteEndpoint?: { address: string; port: number };
  /** The SOAP action (metrics label and log line; bounded per path like the SOAP endpoint's). */
  readonly action: string | undefined;
}

export interface RpcResponse {
  readonly statusCode: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface RpcCall {
  /** The call's correlation id (its access line, the agent's log). */
  readonly id: string;
  readonly promise: Promise<RpcResponse>;
  /** Abandons the call (its response, if any, is dropped). */
  cancel(): void;
}

/**
 * Sends `request` to a listener of its entity. Never throws: relay-side failures (no listener,
 * listener busy, timeout, listener gone) reject the returned promise with a RelayError.
 */
export function forwardRpc(ctx: EndpointDeps, request: RpcRequest): RpcCall {
  const { entity } = request;
  // The caller gets a SOAP fault, which goes with HTTP 500 on the HTTP endpoint: counted so.
  const handler = new BufferingHandler({ errorStatus: 500 });
  const id = ctx.accessLog.newId();
  const startedAt = ctx.config.clock.now();
  const operation = ctx.router.labels.label(entity.path, request.action);
  let listener: string | undefined;
  const text = once(request.body);
  const call = ctx.router.request(
    {
      id,
      path: entity.path,
      method: 'POST',
      target: request.requestTarget,
      headers: request.headers,
      // Printed only when a listener that takes text (or a failure path) reads it.
      get body() {
        return text();
      },
      binary: request.binary && once(request.binary),
      remoteEndpoint: request.remoteEndpoint,
      viaHost: 'relaybridge',
      // A net.tcp call counts under its SOAP action, like the same call over HTTP.
      operation,
    },
    handler,
    {
      onListener: (l) => (listener = l),
      onDone: (status, ms) => {
        // The access line of the same call over HTTP.
        ctx.accessLog.call({
          id,
          startedAt,
          endpoint: 'net.tcp',
          method: 'POST',
          path: entity.path,
          operation,
          status,
          ms: Math.round(ms),
          bytesIn: request.bytesIn,
          bytesOut: handler.bytes,
          listener,
          remote: request.remoteEndpoint?.address,
        });
      },
    },
  );
  const log = lazyChild(ctx.log, { requestId: call.id, path: entity.path, endpoint: 'net.tcp' });
  const promise = handler.response.then((res) => {
    // A listener's answer that is not SOAP becomes a fault for the caller; what it was goes to
    // the log under the id the fault names.
    const detail = describeNonSoapAnswer(res);
    if (detail === undefined) return res;
    const correlationId = call.id;
    log.warn({ correlationId, answer: detail }, 'the listener answered a net.tcp call with something that is not a SOAP message');
    return { ...res, headers: { ...res.headers, [CORRELATION_HEADER]: correlationId } };
  });
  return { id: call.id, promise, cancel: () => call.cancel() };
}

/** `make`, called at most once (a failover asks again for the same form). */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
