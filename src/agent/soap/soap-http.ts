/**
 * Helpers shared by the SOAP-aware service proxies: classify a relayed request (SOAP call,
 * metadata GET, anything else), buffer bodies under a limit, and answer with a buffered body or
 * a SOAP fault in the caller's SOAP version (a proxy never answers a SOAP caller with JSON or
 * HTML, and never leaves it hanging).
 */
import { PassThrough, type Readable } from 'node:stream';
import { QuotaExceededError, RelayError, toRelayError } from '../../core/errors';
import { classifySoapContentType } from '../../protocol/soap/content-type';
import type { AddressingInfo } from '../../protocol/soap/envelope';
import { faultFromError } from '../../protocol/soap/fault';
import type { SoapVersion } from '../../protocol/soap/addressing';
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
  | { readonly kind: 'metadata'; readonly query: string }
  | { readonly kind: 'other' };

const METADATA_QUERY = /^(wsdl|singlewsdl|xsd|disco)(=|&|$)/i;

/**
 * A POST with a SOAP Content-Type (text/xml or application/soap+xml, not MTOM) is a SOAP call; a
 * GET for `?wsdl`, `?singleWsdl`, `?wsdl=N`, `?xsd=N` or `?disco` is a metadata request.
 */
export function classifyRequest(req: Pick<LocalRequest, 'method' | 'requestTarget' | 'headers'>): RequestKind {
  const method = req.method.toUpperCase();
  if (method === 'GET') {
    const q = req.requestTarget.indexOf('?');
    const query = q < 0 ? '' : req.requestTarget.slice(q + 1);
    return METADATA_QUERY.test(query) ? { kind: 'metadata', query } : { kind: 'other' };
  }
  if (method !== 'POST') return { kind: 'other' };
  try {
    const ct = classifySoapContentType(headerValue(req.headers, 'content-type'));
    if (ct.mtom || ct.soapVersion === undefined) return { kind: 'other' };
    return { kind: 'soap', soapVersion: ct.soapVersion };
  } catch {
    return { kind: 'other' };
  }
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
  const stream = new PassThrough();
  stream.end(body);
  return { statusCode, statusMessage, headers, body: stream };
}

/** An empty 202 Accepted: what WCF expects for a one-way operation over HTTP (wcf-wire.md §4.5). */
export function acceptedResponse(): LocalResponse {
  return bufferedResponse(202, {}, Buffer.alloc(0), 'Accepted');
}

/**
 * A SOAP fault for a failure on the agent's side (local service down, timeout, bad message), in
 * the caller's SOAP version, with RelatesTo when the request had a MessageID. HTTP 500, as WCF.
 */
export function faultResponse(err: unknown, soapVersion: SoapVersion, addressing?: AddressingInfo): LocalResponse {
  const e = err instanceof RelayError ? err : toRelayError(err);
  const fault = faultFromError(e, soapVersion, addressing ? { addressing: { version: addressing.version, messageId: addressing.messageId } } : undefined);
  return bufferedResponse(fault.httpStatus, { 'content-type': fault.contentType, 'x-relaybridge-error': e.code }, fault.body, 'Internal Server Error');
}
