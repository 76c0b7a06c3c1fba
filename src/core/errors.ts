/**
 * Error model: every error relaybridge raises is a RelayError with a stable `code`
 * (RELAY_ERR_<AREA>_<WHAT>). Protocol-facing errors also carry how they look on each wire
 * (HTTP status, WebSocket close code, NMF fault string, SOAP fault code) so every endpoint
 * needs one mapping function only. Every code is documented in docs/errors.md; a unit test
 * keeps that table and ERROR_CODES in step.
 */

/**
 * What kind of failure a code is; each kind with a class of its own has it derived here
 * (ProtocolError, AuthError, ConfigError, ...), and a class takes only codes of its kind, so
 * `instanceof` and the code never disagree.
 */
export type ErrorKind = 'internal' | 'config' | 'protocol' | 'auth' | 'not-found' | 'conflict' | 'quota' | 'timeout' | 'unavailable';

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
  RELAY_ERR_INTERNAL: { kind: 'internal', httpStatus: 500, wsCloseCode: 1011, soapFaultCode: 'Receiver' },
  RELAY_ERR_CONFIG_INVALID: { kind: 'config', httpStatus: 400 },
  RELAY_ERR_PROTOCOL_INVALID_MESSAGE: { kind: 'protocol', httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_UNKNOWN_MESSAGE: { kind: 'protocol', httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE: { kind: 'protocol', httpStatus: 413, wsCloseCode: 1009, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE: { kind: 'protocol', httpStatus: 431, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_INVALID_TARGET: { kind: 'protocol', httpStatus: 400, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_PROTOCOL_WS_FRAME: { kind: 'protocol', httpStatus: 400, wsCloseCode: 1002 },
  RELAY_ERR_PROTOCOL_UNEXPECTED_FRAME: { kind: 'protocol', wsCloseCode: 1008 },
  RELAY_ERR_SAS_MISSING: { kind: 'auth', httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_MALFORMED: { kind: 'auth', httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_EXPIRED: { kind: 'auth', httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_BAD_SIGNATURE: { kind: 'auth', httpStatus: 401, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_SAS_WRONG_AUDIENCE: { kind: 'auth', httpStatus: 403, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_AUTH_FORBIDDEN: { kind: 'auth', httpStatus: 403, wsCloseCode: 1008, soapFaultCode: 'Sender' },
  RELAY_ERR_AUTH_OPERATION_FORBIDDEN: { kind: 'auth', httpStatus: 403, soapFaultCode: 'Sender' },
  RELAY_ERR_ENTITY_NOT_FOUND: { kind: 'not-found', httpStatus: 404, wsCloseCode: 1001, soapFaultCode: 'Sender' },
  RELAY_ERR_ENTITY_EXISTS: { kind: 'conflict', httpStatus: 409 },
  RELAY_ERR_NO_LISTENER: { kind: 'unavailable', httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_TIMEOUT: { kind: 'timeout', httpStatus: 504, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_BAD_STATUS: { kind: 'unavailable', httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_GONE: { kind: 'unavailable', httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_LISTENER_QUOTA: { kind: 'quota', httpStatus: 403 },
  RELAY_ERR_LISTENER_PINNING: { kind: 'not-found', httpStatus: 404 },
  RELAY_ERR_RENDEZVOUS_UNKNOWN: { kind: 'not-found', httpStatus: 404 },
  RELAY_ERR_RENDEZVOUS_TIMEOUT: { kind: 'timeout', httpStatus: 504 },
  RELAY_ERR_RENDEZVOUS_UNREACHABLE: { kind: 'unavailable', httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_TOO_BUSY: { kind: 'quota', httpStatus: 503, soapFaultCode: 'Receiver' },
  RELAY_ERR_UNAUTHENTICATED_LIMIT: { kind: 'quota', httpStatus: 429, soapFaultCode: 'Receiver' },
  RELAY_ERR_BODY_TOO_LARGE: { kind: 'quota', httpStatus: 413, soapFaultCode: 'Sender' },
  RELAY_ERR_BODY_TIMEOUT: { kind: 'timeout', httpStatus: 408, soapFaultCode: 'Sender' },
  RELAY_ERR_TIMEOUT: { kind: 'timeout', httpStatus: 504 },
  RELAY_ERR_STORE_IO: { kind: 'internal', httpStatus: 500 },
  RELAY_ERR_STORE_UNAVAILABLE: { kind: 'unavailable', httpStatus: 503 },
  RELAY_ERR_DRAINING: { kind: 'unavailable', httpStatus: 503 },
  RELAY_ERR_TARGET_UNREACHABLE: { kind: 'unavailable', httpStatus: 502 },
  RELAY_ERR_TARGET_BAD_RESPONSE: { kind: 'unavailable', httpStatus: 502, soapFaultCode: 'Receiver' },
  RELAY_ERR_AGENT_CLOSED: { kind: 'unavailable' },
  RELAY_ERR_NOT_ACCEPTED: { kind: 'conflict', httpStatus: 410 },
  RELAY_ERR_BROADCAST_ONE_WAY: { kind: 'protocol', httpStatus: 405, soapFaultCode: 'Sender' },
} as const satisfies Record<string, WireForms & { kind: ErrorKind }>;

export type ErrorCode = keyof typeof ERROR_CODES;
/** The codes of one kind. */
export type CodeOfKind<K extends ErrorKind> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K ? C : never }[ErrorCode];

export interface RelayErrorOptions extends WireForms {
  cause?: unknown;
}

/** Base class: stable `code`, optional `cause`, wire forms defaulted from the registry. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  /** The registry's kind of its code. */
  readonly kind: ErrorKind;
  readonly httpStatus?: number;
  readonly wsCloseCode?: number;
  readonly nmfFault?: string;
  readonly soapFaultCode?: 'Sender' | 'Receiver';

  constructor(code: ErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    const defaults: WireForms & { kind: ErrorKind } = ERROR_CODES[code];
    this.kind = defaults.kind;
    this.httpStatus = options.httpStatus ?? defaults.httpStatus;
    this.wsCloseCode = options.wsCloseCode ?? defaults.wsCloseCode;
    this.nmfFault = options.nmfFault ?? defaults.nmfFault;
    this.soapFaultCode = options.soapFaultCode ?? defaults.soapFaultCode;
  }
}

/** The class of one kind: it takes only codes of that kind (the compiler checks every `new`). */
function kindClass<K extends ErrorKind>() {
  return class extends RelayError {
    declare readonly code: CodeOfKind<K>;
    constructor(code: CodeOfKind<K>, message: string, options: RelayErrorOptions = {}) {
      super(code, message, options);
    }
  };
}

/** Malformed or unexpected bytes/messages from a peer. */
export class ProtocolError extends kindClass<'protocol'>() {}
/** Missing, malformed, expired or insufficient credentials. */
export class AuthError extends kindClass<'auth'>() {}
/** Invalid options or configuration; the message names the bad key. */
export class ConfigError extends RelayError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options: RelayErrorOptions = {}) {
    super('RELAY_ERR_CONFIG_INVALID', issues.length ? `${message}:\n  - ${issues.join('\n  - ')}` : message, options);
    this.issues = issues;
  }
}
/** Something did not happen in time. */
export class TimeoutError extends kindClass<'timeout'>() {}
/** The path is not a known entity, or no listener can take the call. */
export class EndpointNotFoundError extends kindClass<'not-found'>() {}
/** A size, count or rate limit was exceeded. */
export class QuotaExceededError extends kindClass<'quota'>() {}

/** The kinds with a class of their own. */
const KIND_CLASSES: Partial<Record<ErrorKind, new (code: never, message: string, options?: RelayErrorOptions) => RelayError>> = {
  protocol: ProtocolError,
  auth: AuthError,
  timeout: TimeoutError,
  'not-found': EndpointNotFoundError,
  quota: QuotaExceededError,
};

/** An error of `code` as the class of its kind (ProtocolError for a protocol code, ...; RelayError where the kind has none). */
export function relayError(code: ErrorCode, message: string, options: RelayErrorOptions = {}): RelayError {
  const Class = KIND_CLASSES[ERROR_CODES[code].kind] ?? RelayError;
  return new Class(code as never, message, options);
}

/** Wraps anything thrown into a RelayError (keeps RelayErrors as they are). */
export function toRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError('RELAY_ERR_INTERNAL', message, { cause: err });
}
