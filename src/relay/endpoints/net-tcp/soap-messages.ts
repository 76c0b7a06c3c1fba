/**
 * SOAP 1.2 message handling for the net.tcp endpoint: binary request envelopes to the XML text
 * the listener receives, listener responses back to binary replies, relay-side faults.
 *
 * Replies must carry RelatesTo = the request's MessageID: WCF correlates by it alone
 * (wcf-wire.md §4.3). A service reached over HTTP without WS-Addressing (or a translation that
 * dropped it) would otherwise leave the client waiting, so the relay adds RelatesTo (and an
 * Action) when the reply has none.
 */
import { RelayError, type ErrorCode, ERROR_CODES } from '../../../core/errors';
import { decodeEnvelope, encodeEnvelope, createSoapStringPolicy, type SessionReader, type SessionWriter } from '../../../protocol/nbfx';
import { encodeSizedEnvelope } from '../../../protocol/nmf';
import { RELAY_CONNECT_NS, WSA10_NS, WCF_DISPATCHER_FAULT_ACTION } from '../../../protocol/soap/addressing';
import { classifySoapContentType } from '../../../protocol/soap/content-type';
import { scanEnvelope, stripRelayAccessToken, type AddressingInfo } from '../../../protocol/soap/envelope';
import { buildFault, faultFromError, RELAYBRIDGE_FAULT_NS } from '../../../protocol/soap/fault';
import { soap11ResponseToSoap12 } from '../../../protocol/soap/translate';
import { parseXml } from '../../../protocol/xml/text-reader';
import { escapeText, writeXml } from '../../../protocol/xml/text-writer';
import type { RpcResponse } from './rpc-call';

const SOAP_POLICY = createSoapStringPolicy();

export interface DecodedRequest {
  /** SOAP 1.2 XML text, RelayAccessToken header removed. */
  readonly xml: Buffer;
  readonly addressing: AddressingInfo | undefined;
  /** The RelayAccessToken header's token, if the message had one. */
  readonly token: string | undefined;
}

/** Binary request payload (with the peer's session strings) -> XML text + addressing. */
export function decodeRequest(payload: Buffer, session: SessionReader): DecodedRequest {
  const tokens = decodeEnvelope(payload, { session });
  let xml: Buffer = Buffer.from(writeXml(tokens), 'utf8');
  let structure = scanEnvelope(xml);
  let token: string | undefined;
  if (structure.headers.some((h) => h.namespaceUri === RELAY_CONNECT_NS && h.localName === 'RelayAccessToken')) {
    const stripped = stripRelayAccessToken(xml);
    xml = stripped.body;
    token = stripped.token;
    structure = scanEnvelope(xml);
  }
  if (structure.soapVersion !== 'soap12') {
    throw new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'net.tcp carries SOAP 1.2 envelopes only.');
  }
  return { xml, addressing: structure.addressing, token };
}

/** SOAP 1.2 XML text -> NMF Sized Envelope parts, written with our session strings. */
export function encodeReply(xml: Buffer | string, session: SessionWriter): Buffer[] {
  return encodeSizedEnvelope(encodeEnvelope(parseXml(xml), { session, policy: SOAP_POLICY }));
}

/** A relay-side failure as a SOAP 1.2 fault for the request with `messageId`. */
export function errorFault(err: RelayError, messageId: string | undefined): Buffer {
  return faultFromError(err, 'soap12', { addressing: { version: 'wsa10', messageId } }).body;
}

/**
 * The SOAP 1.2 reply for a listener response, or undefined when the response has no body
 * (one-way, HTTP 202). Non-SOAP responses become faults.
 */
export function replyFromResponse(res: RpcResponse, request: { action?: string; messageId?: string }): Buffer | undefined {
  const contentType = res.headers['content-type'];
  if (res.body.length === 0 || res.statusCode === 202 || res.statusCode === 204) return undefined;
  const relayCode = res.headers['x-relaybridge-error'];
  try {
    // The content type decides; without one (or a generic XML type) the envelope namespace does.
    let version = soapVersionOf(contentType);
    if (version === undefined && relayCode !== undefined) return agentErrorFault(res, relayCode, request.messageId);
    if (version === undefined && /xml/i.test(contentType ?? 'xml')) version = scanEnvelope(res.body).soapVersion;
    if (version === 'soap12') return ensureAddressing(res.body, request);
    if (version === 'soap11') return soap11ResponseToSoap12(res.body, { request }).body;
  } catch (err) {
    return errorFault(
      new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `The service's reply is not a valid SOAP message: ${(err as Error).message}`, {
        soapFaultCode: 'Receiver',
      }),
      request.messageId,
    );
  }
  return buildFault({
    soapVersion: 'soap12',
    code: 'Receiver',
    subcode: { namespaceUri: RELAYBRIDGE_FAULT_NS, localName: 'RELAY_ERR_TARGET_UNREACHABLE', prefix: 'r' },
    reason: `The service answered HTTP ${res.statusCode} (${contentType ?? 'no content type'}) instead of a SOAP message.`,
    addressing: { version: 'wsa10', relatesTo: request.messageId },
  }).body;
}

function soapVersionOf(contentType: string | undefined): 'soap11' | 'soap12' | undefined {
  if (contentType === undefined) return undefined;
  try {
    return classifySoapContentType(contentType).soapVersion;
  } catch {
    return undefined;
  }
}

/** The agent's JSON error ({error:{code,message}}) as a fault. */
function agentErrorFault(res: RpcResponse, code: string, messageId: string | undefined): Buffer {
  let message = `The agent could not call the service (${code}).`;
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
  } catch {
    /* keep the generic message */
  }
  const known = Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : 'RELAY_ERR_TARGET_UNREACHABLE';
  return errorFault(new RelayError(known, message, { soapFaultCode: 'Receiver' }), messageId);
}

/** Adds RelatesTo (and Action) to a SOAP 1.2 reply that lacks them, keeping the rest byte for byte. */
export function ensureAddressing(xml: Buffer, request: { action?: string; messageId?: string }): Buffer {
  const s = scanEnvelope(xml);
  const missing: string[] = [];
  const a = s.addressing;
  if (a?.action === undefined) {
    const action = s.isFault ? WCF_DISPATCHER_FAULT_ACTION : request.action !== undefined ? `${request.action}Response` : undefined;
    if (action !== undefined) missing.push(`<Action xmlns="${WSA10_NS}">${escapeText(action)}</Action>`);
  }
  if (a?.relatesTo === undefined && request.messageId !== undefined) {
    missing.push(`<RelatesTo xmlns="${WSA10_NS}">${escapeText(request.messageId)}</RelatesTo>`);
  }
  if (missing.length === 0) return xml;
  const insert = missing.join('');
  if (s.header) return Buffer.concat([xml.subarray(0, s.header.contentStart), Buffer.from(insert), xml.subarray(s.header.contentStart)]);
  const p = s.envelopePrefix ? `${s.envelopePrefix}:` : '';
  return Buffer.concat([xml.subarray(0, s.body.start), Buffer.from(`<${p}Header>${insert}</${p}Header>`), xml.subarray(s.body.start)]);
}
