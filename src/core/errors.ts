/**
 * Error model: every error relaybridge raises is a RelayError with a stable `code`
 * (RELAY_ERR_<AREA>_<WHAT>). Protocol-facing errors also carry how they look on each wire
 * (HTTP status, WebSocket close code, NMF fault string, SOAP fault code) so every endpoint
 * needs one mapping function only. Every code is documented in docs/errors.md; a unit test
 * keeps that table and ERROR_CODES in step.
 */

export interface WireForms {
  /** HTTP status to answer with (senders, management API, handshakes). */
  httpStatus?: number;
  /** WebSocket close code for an established WebSocket. */
  wsCloseCode?: number;
  /** [MC-NMF] fault string, e.g. http://schemas.microsoft.com/ws/2006/05/framing/faults/EndpointNotFound */
  nmfFault?: string;
  /** SOAP fault code local name (Sender/Receiver in SOAP 1.2, Client/Server in SOAP 1.1). */
  soapFaultCode?: 'Sender' | 'Receiver';
}

/** The registry of stable codes, with their default wire forms. */
export const ERROR_CODES = {
  RELAY_ERR_INTERNAL: { httpStatus: 500, wsCloseCode: 1011, soapFaultCode: 'Receiver' },
  RELAY_ERR_CONFIG_INVALID: {},
  RELAY_ERR_PROTOCOL_INVALID_MESSAGE: { httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_UNKNOWN_MESSAGE: { httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE: { httpStatus: 413, wsCloseCode: 1009, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE: { httpStatus: 431, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_INVALID_TARGET: { httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_WS_FRAME: { httpStatus: 400, wsCloseCode: 1002 },
  RELAY_ERR_PROTOCOL_UNEXPECTED_FRAME: { wsCloseCode: 1008 },
  RELAY_ERR_SAS_MISSING: { httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_MALFORMED: { httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_EXPIRED: { httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_BAD_SIGNATURE: { httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_WRONG_AUDIENCE: { httpStatus: 403, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_AUTH_FORBIDDEN: { httpStatus: 403, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_AUTH_OPERATION_FORBIDDEN: { httpStatus: 403, soapFaultCode: 'Sender' },
  RELAY_ERR_ENTITY_NOT_FOUND: { httpStatus: 404, wsCloseCode: 1001, soapFaultCode: 'Sender' },
  RELAY_ERR_ENTITY_EXISTS: { httpStatus: 409 },
  RELAY_ERR_NO_LISTENER: { httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_TIMEOUT: { httpStatus: 504, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_BAD_STATUS: { httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_GONE: { httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_QUOTA: { httpStatus: 403 },
  RELAY_ERR_LISTENER_PINNING: { httpStatus: 404 },
  RELAY_ERR_RENDEZVOUS_UNKNOWN: { httpStatus: 404 },
  RELAY_ERR_RENDEZVOUS_TIMEOUT: { httpStatus: 504 },
  RELAY_ERR_RENDEZVOUS_UNREACHABLE: { httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_TOO_BUSY: { httpStatus: 503, soapFaultCode: 'Receiver' },
  RELAY_ERR_UNAUTHENTICATED_LIMIT: { httpStatus: 429, soapFaultCode: 'Receiver' },
  RELAY_ERR_BODY_TOO_LARGE: { httpStatus: 413, soapFaultCode: 'Sender' },
  RELAY_ERR_BODY_TIMEOUT: { httpStatus: 408, soapFaultCode: 'Sender' },
  RELAY_ERR_TIMEOUT: { httpStatus: 504 },
  RELAY_ERR_STORE_IO: { httpStatus: 500 },
  RELAY_ERR_STORE_UNAVAILABLE: { httpStatus: 503 },
  RELAY_ERR_DRAINING: { httpStatus: 503 },
  RELAY_ERR_TARGET_UNREACHABLE: { httpStatus: 502 },
  RELAY_ERR_TARGET_BAD_RESPONSE: { httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_AGENT_CLOSED: {},
  RELAY_ERR_NOT_ACCEPTED: { httpStatus: 410 },
  RELAY_ERR_BROADCAST_ONE_WAY: { httpStatus: 405, soapFaultCode: 'Sender' },
} as const satisfies Record<string, WireForms>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RelayErrorOptions extends WireForms {
  cause?: unknown;
}

/** Base class: stable `code`, optional `cause`, wire forms defaulted from the registry. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus?: number;
  readonly wsCloseCode?: number;
  readonly nmfFault?: string;
  readonly soapFaultCode?: 'Sender' | 'Receiver';

  constructor(code: ErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    const defaults: WireForms = ERROR_CODES[code];
    this.httpStatus = options.httpStatus ?? defaults.httpStatus;
    this.wsCloseCode = options.wsCloseCode ?? defaults.wsCloseCode;
    this.nmfFault = options.nmfFault ?? defaults.nmfFault;
    this.soapFaultCode = options.soapFaultCode ?? defaults.soapFaultCode;
  }
}

/** Malformed or unexpected bytes/messages from a peer. */
export class ProtocolError extends RelayError {}
/** Missing, malformed, expired or insufficient credentials. */
export class AuthError extends RelayError {}
/** Invalid options or configuration; the message names the bad key. */
export class ConfigError extends RelayError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options: RelayErrorOptions = {}) {
    super('RELAY_ERR_CONFIG_INVALID', issues.length ? `${message}:\n  - ${issues.join('\n  - ')}` : message, options);
    this.issues = issues;
  }
}
/** Something did not happen in time. */
export class TimeoutError extends RelayError {}
/** The path is not a known entity, or no listener can take the call. */
export class EndpointNotFoundError extends RelayError {}
/** A size, count or rate limit was exceeded. */
export class QuotaExceededError extends RelayError {}

/** Wraps anything thrown into a RelayError (keeps RelayErrors as they are). */
export function toRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError('RELAY_ERR_INTERNAL', message, { cause: err });
}
