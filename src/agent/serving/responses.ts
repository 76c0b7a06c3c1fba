/**
 * How the agent's answers look on the wire: a local response streamed over a rendezvous socket
 * (JSON head, then the body as one binary message), and an error as a response with Azure's JSON
 * error body and the stable code in `x-relaybridge-error`.
 */
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { RelayError } from '../../core/errors';
import { ONE_WAY_ACK_HEADER, serializeResponse } from '../../protocol/hyco';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import type { LocalResponse } from '../proxies/http-proxy';
import { pump } from '../../core/pump';

export type { LocalResponse };

/** Sends `head` and then `first` + the rest of `body` over a rendezvous endpoint, then closes it. */
export function streamResponse(ep: WsEndpoint, head: Omit<Parameters<typeof serializeResponse>[0], 'body'>, first: Buffer[], body: Readable | Buffer): void {
  ep.sendText(serializeResponse({ requestId: head.requestId, statusCode: head.statusCode, statusDescription: head.statusDescription, responseHeaders: head.responseHeaders, body: true }));
  for (const c of first) ep.writeBinaryFragment(c);
  if (Buffer.isBuffer(body)) {
    // Whole already: the last (or only) frame of the message, then a close.
    ep.endBinaryMessage(body);
    ep.close(1000, 'response complete');
    ep.start();
    return;
  }
  pump(body, (f: (c: Buffer) => void) => body.on('data', f), (c) => ep.writeBinaryFragment(c), ep);
  body.on('end', () => {
    ep.endBinaryMessage();
    ep.close(1000, 'response complete');
  });
  body.on('error', () => ep.close(1011, 'local response failed'));
  ep.on('closed', () => body.destroy());
  ep.start();
  body.resume();
}

export function headerOf(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** An error as a response: its HTTP status (502 when it has none) and `{error:{code,message}}`. */
export function errorResponse(err: unknown): LocalResponse {
  const e = err instanceof RelayError ? err : new RelayError('RELAY_ERR_INTERNAL', String(err));
  const status = e.httpStatus ?? 502;
  const body = Buffer.from(JSON.stringify({ error: { code: e.code, message: e.message } }), 'utf8');
  return {
    statusCode: status,
    statusMessage: STATUS_CODES[status] ?? 'Bad Gateway',
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-relaybridge-error': e.code },
    body,
  };
}

/**
 * The headers of a service's answer with no body: a 2xx is the service's one-way
 * acknowledgement, marked for the relay (protocol/hyco/one-way.ts); anything else is unchanged.
 */
export function markOneWayAck(statusCode: number, headers: Record<string, string>): Record<string, string> {
  return statusCode >= 200 && statusCode < 300 ? { ...headers, [ONE_WAY_ACK_HEADER]: '1' } : headers;
}
