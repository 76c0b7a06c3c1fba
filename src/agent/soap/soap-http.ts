/**
 * Helpers shared by the SOAP-aware service proxies: classify a relayed request (SOAP call,
 * metadata GET, anything else), buffer bodies under a limit, and answer with a buffered body or
 * a SOAP fault in the caller's SOAP version (a proxy never answers a SOAP caller with JSON or
 * HTML, and never leaves it hanging).
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { QuotaExceededError, RelayError, toRelayError, type ErrorCode } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { classifySoapHttpRequest, searchOf, type MetadataQuery } from '../../protocol/soap/http-request';
import type { AddressingInfo } from '../../protocol/soap/envelope';
import { buildFault, faultFromError } from '../../protocol/soap/fault';
import { WCF_ADDRESSING_NONE_NS, type SoapVersion } from '../../protocol/soap/addressing';
import type { XmlLimits } from '../../protocol/xml/limits';
import type { LocalRequest, LocalResponse } from '../proxies/http-proxy';

/** Config spelling of SOAP versions → protocol spelling. */
export function soapVersionOption(v: 'auto' | '1.1' | '1.2'): SoapVersion | undefined {
  return v === '1.1' ? 'soap11' : v === '1.2' ? 'soap12' : undefined;
}

export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export function withoutHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!drop.has(k.toLowerCase())) out[k] = v;
  return out;
}

export type RequestKind =
  | { readonly kind: 'soap'; readonly soapVersion: SoapVersion }
  | { readonly kind: 'metadata'; readonly query: MetadataQuery }
  | { readonly kind: 'other' };

/**
 * The protocol's classifier (classifySoapHttpRequest, the relay's too), read the agent's way: a
 * text/xml POST without SOAPAction is taken as SOAP 1.1 (its body decides later), MTOM is not
 * the SOAP front's to read, a metadata GET names its document.
 */
export function classifyRequest(req: Pick<LocalRequest, 'method' | 'requestTarget' | 'headers'>): RequestKind {
  const c = classifySoapHttpRequest(req.method, searchOf(req.requestTarget), (name) => headerValue(req.headers, name));
  if (c === undefined) return { kind: 'other' };
  if (c.kind === 'metadata') return c;
  if (c.kind === 'xml') return { kind: 'soap', soapVersion: 'soap11' };
  return c.mtom ? { kind: 'other' } : { kind: 'soap', soapVersion: c.version };
}

/** `?wsdl` or `?singleWsdl`: the whole WSDL document (a configured one can answer it). */
export function isWholeWsdl(query: MetadataQuery): boolean {
  return query.name !== 'xsd' && query.value === '';
}

/** Reads a whole body (Buffer or stream), refusing more than maxBytes. */
export async function readBody(body: Readable | Buffer | undefined, maxBytes: number): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) {
    if (body.length > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const c = chunk as Buffer;
    size += c.length;
    if (size > maxBytes) {
      body.destroy();
      throw tooLarge(maxBytes);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(maxBytes: number): QuotaExceededError {
  return new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `the SOAP message is larger than the agent's limit of ${maxBytes} bytes`);
}

/** XML limits for messages up to maxBytes (the default reader limits stop at 4 MiB). */
export function xmlLimitsFor(maxBytes: number): Partial<XmlLimits> {
  return { maxInputBytes: maxBytes, maxTextChars: maxBytes };
}

export function bufferedResponse(statusCode: number, headers: Record<string, string>, body: Buffer, statusMessage = ''): LocalResponse {
  return { statusCode, statusMessage, headers, body };
}

/** An empty 202 Accepted: what WCF expects for a one-way operation over HTTP (wcf-wire.md §4.5). */
export function acceptedResponse(): LocalResponse {
  return bufferedResponse(202, {}, Buffer.alloc(0), 'Accepted');
}

/** Response header that carries the id a failure is logged under (agent and relay). */
export const CORRELATION_HEADER = 'Relaybridge-Correlation-Id';

/** A short random id that names one failure in the caller's answer and in the logs. */
export function newCorrelationId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * What the caller may read about a failure on the private side. The message of a target error
 * names private addresses and ports (`the local service at http://10.0.0.5:8080 is
 * unreachable: ECONNREFUSED`), so only a fixed text per code leaves the agent, with the id the
 * full message is logged under. Errors about the caller's own request keep their message.
 */
const PUBLIC_TEXT: Partial<Record<ErrorCode, string>> = {
  RELAY_ERR_TARGET_UNREACHABLE: 'The service behind this path is unreachable.',
  RELAY_ERR_TARGET_BAD_RESPONSE: 'The service behind this path did not answer with a SOAP message.',
  RELAY_ERR_TIMEOUT: 'The service behind this path did not answer in time.',
  RELAY_ERR_INTERNAL: 'The agent could not complete the call.',
};

/** The service's answer was not a SOAP message: `message` says what it was (logged), `publicText` only its status. */
export class TargetAnswerError extends RelayError {
  readonly publicText: string;
  constructor(statusCode: number, detail: string) {
    super('RELAY_ERR_TARGET_BAD_RESPONSE', `the local service answered ${detail}`);
    this.publicText = `The service behind this path answered HTTP ${statusCode} instead of a SOAP message.`;
  }
}

/** Logger calls the helpers below make (a child logger with the path bound, usually). */
export type FailureLog = Pick<Logger, 'warn'>;

/**
 * The public form of `err` (same code and wire forms, a message that names no private detail,
 * ending in `(id …)`), with the id; the private message is logged at warn under that id.
 */
export function publicError(err: unknown, log: FailureLog | undefined, context: Record<string, unknown> = {}, expose = false, callId?: string): { error: RelayError; id: string } {
  const e = err instanceof RelayError ? err : toRelayError(err);
  // The relay's id for the call when it gave one (its access line names it too).
  const id = callId ?? newCorrelationId();
  log?.warn({ correlationId: id, code: e.code, err: e.message, ...context }, 'relayed call failed on the private side');
  const text = e instanceof TargetAnswerError ? e.publicText : ((expose && e.code !== 'RELAY_ERR_INTERNAL' ? undefined : PUBLIC_TEXT[e.code]) ?? e.message);
  const error = new RelayError(e.code, `${text.replace(/\.?$/, '')} (id ${id}).`, {
    httpStatus: e.httpStatus,
    soapFaultCode: e.soapFaultCode ?? (PUBLIC_TEXT[e.code] !== undefined ? 'Receiver' : undefined),
  });
  return { error, id };
}

/**
 * A SOAP fault for a failure on the agent's side (local service down, timeout, bad message), in
 * the caller's SOAP version, with RelatesTo when the request had a MessageID. HTTP 500, as WCF.
 * The fault's Reason ends in a correlation id (also in the Relaybridge-Correlation-Id header);
 * the private detail is logged under it.
 */
export function faultResponse(
  err: unknown,
  soapVersion: SoapVersion,
  addressing: AddressingInfo | undefined,
  log: FailureLog | undefined,
  options: {
    /** Keep the message of a target error (one that names no address: an IPC target's state). */
    readonly expose?: boolean;
    /** The relay's id for the call (LocalRequest.id). */
    readonly id?: string;
  } = {},
): LocalResponse {
  const { error: e, id } = publicError(err, log, { soapVersion }, options.expose, options.id);
  const fault = faultFromError(e, soapVersion, addressing ? { addressing: { version: addressing.version, messageId: addressing.messageId } } : undefined);
  return bufferedResponse(fault.httpStatus, { 'content-type': fault.contentType, 'x-relaybridge-error': e.code, [CORRELATION_HEADER.toLowerCase()]: id }, fault.body, 'Internal Server Error');
}

/** The JSON error (`{error:{code,message}}`) for a failure on a non-SOAP call, with a correlation id. */
export function errorJsonResponse(err: unknown, log: FailureLog | undefined, callId?: string): LocalResponse {
  const { error: e, id } = publicError(err, log, {}, false, callId);
  const status = e.httpStatus ?? 502;
  return bufferedResponse(
    status,
    { 'content-type': 'application/json; charset=utf-8', 'x-relaybridge-error': e.code, [CORRELATION_HEADER.toLowerCase()]: id },
    Buffer.from(JSON.stringify({ error: { code: e.code, message: e.message, correlationId: id } })),
    STATUS_CODES[status] ?? 'Bad Gateway',
  );
}

/**
 * WCF's answer to an action the contract does not have: a Sender fault with subcode
 * `a:ActionNotSupported` (wcf-wire.md §4.4), in the addressing namespace of the request (SOAP 1.1
 * without addressing: WCF's `.../addressing/none`), HTTP 500.
 */
export function actionNotSupportedResponse(
  soapVersion: SoapVersion,
  action: string | undefined,
  addressing: Pick<AddressingInfo, 'version' | 'namespace' | 'messageId'> | undefined,
  detail = '',
): LocalResponse {
  const f = buildFault({
    soapVersion,
    code: 'Sender',
    subcode: { namespaceUri: addressing?.namespace ?? WCF_ADDRESSING_NONE_NS, localName: 'ActionNotSupported', prefix: 'a' },
    reason:
      `The message with Action '${action ?? ''}' cannot be processed at the receiver, due to a ContractFilter mismatch at the EndpointDispatcher.` +
      (detail ? ` ${detail}` : ''),
    addressing: addressing ? { version: addressing.version, relatesTo: addressing.messageId } : undefined,
  });
  return bufferedResponse(500, { 'content-type': f.contentType }, f.body, 'Internal Server Error');
}
