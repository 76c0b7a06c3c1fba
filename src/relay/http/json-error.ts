/** The relay's own errors for plain HTTP callers: Azure's JSON error body. */
import type { ServerResponse } from 'node:http';
import { RelayError } from '../../core/errors';
import { correlationIdOf, noteCall } from './access-log';

/** How a relay-side error is written to a node:http response (JSON, or a SOAP fault). */
export type ErrorWriter = (res: ServerResponse, err: RelayError) => void;

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

/**
 * Azure's JSON error body: {"error":{"code":"GatewayTimeout","message":"…"}}, plus the relay's
 * stable code and the call's correlation id.
 */
export const writeJsonError: ErrorWriter = (res, err) => {
  const { status, message, code } = httpFormOf(err);
  noteCall(res, { code });
  const correlationId = correlationIdOf(res);
  const body = JSON.stringify({ error: { code: ERROR_NAMES[status] ?? 'Error', message, relayCode: code, ...(correlationId ? { correlationId } : {}) } });
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
};

/** Maps any error to its HTTP status and a one-line message, for handshakes and plain HTTP. */
export function httpFormOf(err: unknown): { status: number; message: string; code: string } {
  if (err instanceof RelayError) {
    return { status: err.httpStatus ?? 500, message: err.message, code: err.code };
  }
  return { status: 500, message: 'Internal relay error.', code: 'RELAY_ERR_INTERNAL' };
}
