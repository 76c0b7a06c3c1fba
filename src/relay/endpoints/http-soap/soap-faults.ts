/**
 * Relay-side errors as SOAP faults, in the caller's SOAP version (protocol/soap faultFromError).
 *
 * HTTP status: always 500. SOAP 1.1 over HTTP sends every fault with 500 (SOAP 1.1 §6.2), and WCF
 * clients, for both versions, read a fault only from a 500 response whose Content-Type matches
 * their encoder (wcf-wire.md §4.4, §4.5): on 400/401/403/404/413/502/503/504 they throw a
 * ProtocolException, EndpointNotFoundException, ServerTooBusyException, ... that carries the
 * status line but not our message. So a WCF caller gets a FaultException whose Code says whose
 * fault it is (Sender: fix the request or the token; Receiver: the service side is down or slow),
 * whose Subcode is {urn:relaybridge:errors}RELAY_ERR_* (stable, for code that catches it) and
 * whose Reason is the message. SOAP 1.2 Part 2 §7.5.1.2 would allow 400 for Sender faults; WCF
 * does not read those, so 500 it is. The relay's own status for the error (404, 401, 502, ...)
 * travels in the `Relaybridge-Status` header, and the code in `Relaybridge-Error`, for proxies
 * and logs. RelatesTo carries the request's MessageID when it had one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RelayError } from '../../../core/errors';
import type { AddressingVersion, SoapVersion } from '../../../protocol/soap/addressing';
import { faultFromError } from '../../../protocol/soap/fault';
import { CORRELATION_HEADER, noteCall } from '../../http/access-log';
import { httpFormOf } from '../../http/json-error';
import { soapVersionOfHeaders } from '../../../protocol/soap/http-request';
import { headerValue } from '../../http/http-headers';

/** HTTP status of every relay-side SOAP fault (see the file header). */
export const SOAP_FAULT_HTTP_STATUS = 500;

/**
 * What a fault needs to know about its request. Starts with the version from the HTTP headers;
 * the SOAP endpoint fills in the envelope's version and addressing once it has read them.
 */
export class SoapFaultContext {
  version: SoapVersion;
  addressing: { version: AddressingVersion; messageId?: string } | undefined;

  constructor(version: SoapVersion) {
    this.version = version;
  }

  /** Writes `err` as a fault to `res` (an ErrorWriter when bound). */
  write = (res: ServerResponse, err: RelayError): void => {
    const fault = faultFromError(err, this.version, { addressing: this.addressing });
    const { status } = httpFormOf(err);
    res.statusCode = SOAP_FAULT_HTTP_STATUS;
    res.setHeader('Content-Type', fault.contentType);
    res.setHeader('Content-Length', fault.body.length);
    res.setHeader('Relaybridge-Error', err.code);
    res.setHeader('Relaybridge-Status', String(status));
    noteCall(res, { code: err.code });
    // The id the agent named in its own fault, else the call's (set by the access log).
    const id = (err as { correlationId?: unknown }).correlationId;
    if (typeof id === 'string') res.setHeader(CORRELATION_HEADER, id);
    res.end(fault.body);
  };
}

/**
 * The SOAP fault version for a request that looks like SOAP by its headers (SOAP Content-Type or
 * a SOAPAction header); undefined for other requests (they keep JSON errors).
 */
export function soapVersionOfRequest(req: IncomingMessage): SoapVersion | undefined {
  return soapVersionOfHeaders((name) => headerValue(req.headers, name));
}
