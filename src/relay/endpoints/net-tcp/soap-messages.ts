/**
 * SOAP 1.2 message handling for the net.tcp endpoint: binary request envelopes to the XML text
 * the listener receives, listener responses back to binary replies, relay-side faults. Envelopes
 * are handled as token streams (one parse or decode per message; the head is read from tokens,
 * envelope-head.ts), because this runs for every call.
 *
 * Replies must carry RelatesTo = the request's MessageID: WCF correlates by it alone
 * (wcf-wire.md §4.3). A service reached over HTTP without WS-Addressing (or a translation that
 * dropped it) would otherwise leave the client waiting, so the relay adds RelatesTo (and an
 * Action) when the reply has none.
 */
import { ProtocolError, RelayError, type ErrorCode, ERROR_CODES } from '../../../core/errors';
import { NbfxStreamReader, readNbfx, writeCharsText, writeNbfx, type SessionReader, type SessionWriter } from '../../../protocol/nbfx';
import { decodeEnvelope, encodeEnvelope, SOAP_STRING_POLICY, TokenSoapMessage } from '../../../protocol/soap-binary';
import { isBinarySoapContentType, ONE_WAY_ACK_HEADER } from '../../../protocol/hyco';
import { encodeSizedEnvelope, encodeUnsizedEnvelope } from '../../../protocol/nmf';
import { SOAP12_ENVELOPE_NS } from '../../../protocol/soap/addressing';
import { isRelayTokenHeader } from '../../../protocol/soap/envelope-head';
import { envelopeVersionOfContentType as soapVersionOf } from '../../../protocol/soap/http-request';
import { buildFault, faultFromError, RELAYBRIDGE_FAULT_NS } from '../../../protocol/soap/fault';
import { soap11ResponseToSoap12 } from '../../../protocol/soap/translate';
import { parseXml } from '../../../protocol/xml/text-reader';
import { writeXml } from '../../../protocol/xml/text-writer';
import type { XmlLimits } from '../../../protocol/xml/limits';
import type { XmlToken } from '../../../protocol/xml/tokens';
import type { RpcResponse } from './rpc-call';


export interface DecodedRequest {
  /** The envelope, RelayAccessToken header removed (requestXml() prints it). */
  readonly message: TokenSoapMessage;
  readonly addressing: { readonly action?: string; readonly messageId?: string };
  /** The RelayAccessToken header's token, if the message had one. */
  readonly token: string | undefined;
  /**
   * A session message (msbinsession1) as the client sent it, for carrying it on with its own
   * StringTable and the bytes around the edited headers (carriedRequestPayload): the payload,
   * where its NBFX starts, each token's record end, and the envelope before any edit.
   */
  readonly source?: RequestSource;
}

interface RequestSource {
  readonly payload: Buffer;
  readonly nbfxAt: number;
  readonly recordEnds: readonly number[];
  readonly original: TokenSoapMessage;
  /** The StringTable added session strings. */
  readonly definesStrings: boolean;
  /** A string it added is (part of) a RelayAccessToken header's text: the table must not go on. */
  readonly tableHoldsCredential: boolean;
}

/** Binary request payload (with the peer's session strings) -> the envelope's tokens, read once. */
export function decodeRequest(payload: Buffer, session: SessionReader | undefined): DecodedRequest {
  // msbinsession1 payloads start with the string table; msbin1 (streamed) ones have none.
  const known = session?.size ?? 0;
  const offset = session ? session.readStringTable(payload) : 0;
  const recordEnds: number[] | undefined = session ? [] : undefined;
  let tokens: XmlToken[];
  try {
    tokens = readNbfx(payload.subarray(offset), { session, hints: false, recordEnds });
  } catch (err) {
    // After a decode error the WCF session is unusable; so is ours (wcf-wire.md §3.2).
    if (session && err instanceof ProtocolError) session.poison(err);
    throw err;
  }
  let message: TokenSoapMessage | undefined;
  try {
    message = TokenSoapMessage.read(tokens);
  } catch {
    message = undefined;
  }
  if (message?.envelopeNamespace !== SOAP12_ENVELOPE_NS) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'net.tcp carries SOAP 1.2 envelopes only.');
  }
  const token = message.relayToken;
  const original = message;
  message = message.withoutRelayAccessToken(); // relay credentials never reach the service
  const addressing = { action: message.addressing?.action, messageId: message.addressing?.messageId };
  if (!session || !recordEnds) return { message, addressing, token };
  const definesStrings = session.size > known;
  let tableHoldsCredential = false;
  if (definesStrings && token !== undefined) {
    const texts = original.headers.filter(isRelayTokenHeader).map((h) => h.text);
    for (let id = known; id < session.size && !tableHoldsCredential; id++) {
      const value = session.lookup(id)!;
      tableHoldsCredential = value.length >= MIN_CREDENTIAL_CHARS && texts.some((t) => t.includes(value));
    }
  }
  return { message, addressing, token, source: { payload, nbfxAt: offset, recordEnds, original, definesStrings, tableHoldsCredential } };
}

/** Shorter session strings are not taken for (part of) a token: a SAS token is far longer. */
const MIN_CREDENTIAL_CHARS = 16;

/**
 * The RelayAccessToken of an envelope of which only the first bytes have arrived, read from a copy
 * of the session's dictionary (the session's own is left as it is): `complete` once everything
 * before the Body was read. Any decode problem reads as incomplete; the whole envelope, when it
 * arrives, is decoded and checked as every other.
 */
export function peekRequestToken(prefix: Buffer, session: SessionReader | undefined): { readonly complete: boolean; readonly token?: string } {
  try {
    const reader = session?.fork();
    const offset = reader ? reader.readStringTable(prefix) : 0;
    const head = TokenSoapMessage.readHead(new NbfxStreamReader({ session: reader, hints: false }).push(prefix.subarray(offset)));
    if (!head || head.envelopeNamespace !== SOAP12_ENVELOPE_NS) return { complete: false };
    return { complete: true, token: head.relayToken };
  } catch {
    return { complete: false };
  }
}

/** RelatesTo and the fault flag of a message from a service; none when it is not a SOAP envelope. */
export function replyHead(tokens: readonly XmlToken[]): { readonly relatesTo?: string; readonly isFault: boolean } {
  try {
    const head = TokenSoapMessage.readHead(tokens);
    return { relatesTo: head?.addressing?.relatesTo, isFault: head?.isFault ?? false };
  } catch {
    return { isFault: false };
  }
}

/** A decoded request as SOAP 1.2 XML text (for a listener, or a text carrier). */
export function requestXml(request: DecodedRequest): Buffer {
  return Buffer.from(writeXml(request.message.tokens), 'utf8');
}

/**
 * A decoded request as binary XML without session strings (application/soap+msbin1,
 * protocol/hyco/binary-soap.ts) for a listener that takes SOAP calls so. `plain`: the client's own
 * payload when it is already that (a streamed session's message, nothing removed from it).
 */
export function binaryRequestBody(request: DecodedRequest, plain?: Buffer): Buffer {
  return plain !== undefined && request.token === undefined ? plain : writeNbfx(request.message.tokens, { policy: SOAP_STRING_POLICY });
}

/** An empty msbinsession1 StringTable (MB31 size 0): a payload that adds no session strings. */
const NO_SESSION_STRINGS = Buffer.from([0]);

/**
 * A decoded request as an msbinsession1 payload for a binary carrier
 * (protocol/hyco/session-carrier.ts), `To` set to the service's address and RelayAccessToken
 * headers removed. `passedOn` says which of two forms it is:
 * - true: while `tablesWhole` (every StringTable of the client's session so far reached the
 *   service, in order), the client's own payload, its StringTable and its bytes as they are but
 *   for the edited header blocks, so the service's dictionary is the client's, as directly.
 *   Nothing is decoded or encoded again.
 * - false: re-encoded self-contained (an empty StringTable, static dictionary and literals
 *   only), read whatever the service's dictionary holds: when the tables are not whole, when
 *   this table holds a token's text, or when an edited block does not sit on record boundaries
 *   (an Array record). This message's strings then never reach the service: the caller stops
 *   passing payloads on if it added any.
 */
export function carriedRequestPayload(request: DecodedRequest, serviceTo: string, tablesWhole: boolean): { readonly payload: Buffer; readonly passedOn: boolean } {
  const src = request.source;
  const spliced = src && tablesWhole && !src.tableHoldsCredential ? splicedPayload(src, serviceTo) : undefined;
  if (spliced) return { payload: spliced, passedOn: true };
  return { payload: Buffer.concat([NO_SESSION_STRINGS, writeNbfx(request.message.withTo(serviceTo).tokens, { policy: SOAP_STRING_POLICY })]), passedOn: false };
}

/**
 * The client's payload with its edits made in its bytes: each RelayAccessToken header block cut
 * out, and the wsa:To block's content replaced by one literal text record closing it. Token
 * ranges map to bytes by the record ends the reader kept; undefined when an edited range does
 * not start and end on a record's edge.
 */
function splicedPayload(src: RequestSource, serviceTo: string): Buffer | undefined {
  const { payload, nbfxAt, recordEnds, original } = src;
  // Token i starts a record when the token before it ended one (tokens of one record share its end).
  const startsRecord = (i: number): boolean => i === 0 || recordEnds[i - 1]! < recordEnds[i]!;
  const endsRecord = (i: number): boolean => i === recordEnds.length - 1 || recordEnds[i]! < recordEnds[i + 1]!;
  const at = (token: number): number => nbfxAt + (token === 0 ? 0 : recordEnds[token - 1]!);
  const edits: Array<{ from: number; to: number; insert?: Buffer }> = [];
  const ns = original.addressing?.namespace;
  let toDone = false;
  for (const h of original.headers) {
    const [start, contentStart, , end] = h.span;
    const token = isRelayTokenHeader(h);
    const to = !token && !toDone && h.localName === 'To' && h.namespaceUri === ns;
    if (!token && !to) continue;
    const from = token ? start : contentStart;
    if (!startsRecord(from) || !endsRecord(end - 1)) return undefined;
    if (token) edits.push({ from: at(start), to: at(end) });
    else {
      // The element and its attributes stay; its content goes and one record writes it and closes it.
      edits.push({ from: at(contentStart), to: at(end), insert: writeCharsText(serviceTo, true) });
      toDone = true;
    }
  }
  // The blocks come in document order, so the edits do too.
  const parts: Buffer[] = [];
  let from = 0;
  for (const e of edits) {
    parts.push(payload.subarray(from, e.from));
    if (e.insert) parts.push(e.insert);
    from = e.to;
  }
  parts.push(payload.subarray(from));
  return Buffer.concat(parts);
}

/**
 * A reply the relay writes itself on a duplex session whose client dictionary it does not own
 * (a binary carrier passes the service's StringTables through): a Sized Envelope with an empty
 * StringTable and no session strings.
 */
export function encodeSelfContainedReply(reply: Buffer | string | readonly XmlToken[]): Buffer[] {
  const tokens = typeof reply === 'string' || Buffer.isBuffer(reply) ? parseXml(reply) : reply;
  return encodeSizedEnvelope(Buffer.concat([NO_SESSION_STRINGS, writeNbfx(tokens, { policy: SOAP_STRING_POLICY })]));
}

/**
 * A SOAP 1.2 reply (XML text or tokens) -> NMF record parts: a Sized Envelope written with our
 * session strings (duplex), or without a session an Unsized Envelope of plain binary (streamed).
 */
export function encodeReply(reply: Buffer | string | readonly XmlToken[], session: SessionWriter | undefined): Buffer[] {
  const tokens = typeof reply === 'string' || Buffer.isBuffer(reply) ? parseXml(reply) : reply;
  const payload = encodeEnvelope(tokens, { session, policy: SOAP_STRING_POLICY });
  return session ? encodeSizedEnvelope(payload) : encodeUnsizedEnvelope(payload);
}

/** A relay-side failure as a SOAP 1.2 fault for the request with `messageId`. */
export function errorFault(err: RelayError, messageId: string | undefined): Buffer {
  return faultFromError(err, 'soap12', { addressing: { version: 'wsa10', messageId } }).body;
}

/**
 * The SOAP 1.2 reply for a listener response, as tokens, or undefined when no reply will come:
 * an empty 2xx the agent marked as the service's one-way acknowledgement (HTTP 202, or an empty
 * 200 as Mono sends; protocol/hyco/one-way.ts).
 * Non-SOAP responses, and an unmarked empty 2xx to a message that expects a reply, become faults.
 * `limits`: the XML limits for the reply (the relay's net.tcp message size).
 */
export function replyFromResponse(res: RpcResponse, request: { action?: string; messageId?: string }, limits?: Partial<XmlLimits>): readonly XmlToken[] | undefined {
  const contentType = res.headers['content-type'];
  const empty = res.body.length === 0 || res.statusCode === 202 || res.statusCode === 204;
  // Only a success may go back as nothing, and only when it is known to be a one-way
  // acknowledgement: an empty error status (Mono's 415 for the wrong SOAP version), or an empty
  // 2xx from a listener that is not ours, is a failed call; a WCF client waiting for its reply
  // would otherwise wait out its SendTimeout.
  if (empty && res.statusCode < 300 && res.headers[ONE_WAY_ACK_HEADER] !== undefined) return undefined;
  if (empty) return nonSoapFault(res, contentType, request.messageId);
  const relayCode = res.headers['x-relaybridge-error'];
  try {
    // A relaybridge agent's answer to a binary call (protocol/hyco/binary-soap.ts): no text on the way.
    if (isBinarySoapContentType(contentType)) {
      const reply = TokenSoapMessage.read(decodeEnvelope(res.body, { limits }));
      if (reply.envelopeNamespace !== SOAP12_ENVELOPE_NS) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'a binary answer must be a SOAP 1.2 envelope');
      return reply.withReplyAddressing(request).tokens;
    }
    // The content type decides; without one (or a generic XML type) the envelope namespace does.
    const version = soapVersionOf(contentType);
    if (version === undefined && relayCode !== undefined) return parseXml(agentErrorFault(res, relayCode, request.messageId));
    if (version === 'soap11') return parseXml(soap11ResponseToSoap12(res.body, { request, limits }).body, limits);
    if (version === 'soap12' || /xml/i.test(contentType ?? 'xml')) {
      const tokens = parseXml(res.body, limits);
      if (tokens.find((t) => t.kind === 'startElement')?.localName === 'Envelope') {
        const reply = TokenSoapMessage.read(tokens);
        if (reply.envelopeNamespace === SOAP12_ENVELOPE_NS) return reply.withReplyAddressing(request).tokens;
        return parseXml(soap11ResponseToSoap12(res.body, { request, limits }).body, limits);
      }
    }
  } catch (err) {
    return parseXml(
      errorFault(
        new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `The service's reply is not a valid SOAP message: ${(err as Error).message}`, {
          soapFaultCode: 'Receiver',
        }),
        request.messageId,
      ),
    );
  }
  return nonSoapFault(res, contentType, request.messageId);
}

/** Header (lower-case) with the id a non-SOAP answer was logged under. */
export const CORRELATION_HEADER = 'relaybridge-correlation-id';

/** The document element is an `Envelope` (any prefix), after an XML declaration, comments or a BOM. */
const ENVELOPE_START = /^\uFEFF?\s*(?:<\?[^>]*\?>\s*|<!--[\s\S]*?-->\s*)*<(?:[A-Za-z_][\w.-]*:)?Envelope[\s>/]/;

/**
 * What a listener's answer was when it is not a SOAP reply that replyFromResponse can pass on
 * (an empty error status, HTML, text), for the log; undefined for SOAP replies, one-way acks and
 * the agent's own JSON errors.
 */
export function describeNonSoapAnswer(res: RpcResponse): string | undefined {
  if (res.headers['x-relaybridge-error'] !== undefined) return undefined;
  const ct = res.headers['content-type'];
  if (res.body.length === 0) return res.statusCode < 300 && res.headers[ONE_WAY_ACK_HEADER] !== undefined ? undefined : `HTTP ${res.statusCode} with no body`;
  if (soapVersionOf(ct) !== undefined || isBinarySoapContentType(ct)) return undefined;
  if (/xml/i.test(ct ?? 'xml') && ENVELOPE_START.test(res.body.subarray(0, 4096).toString('utf8'))) return undefined;
  return `HTTP ${res.statusCode} with ${ct ?? 'no content type'} (${res.body.length} bytes: ${JSON.stringify(res.body.subarray(0, 256).toString('utf8'))})`;
}

/** A fault for a listener answer that is not a SOAP message (its status, never its body). */
function nonSoapFault(res: RpcResponse, contentType: string | undefined, messageId: string | undefined): XmlToken[] {
  return parseXml(
    buildFault({
      soapVersion: 'soap12',
      code: 'Receiver',
      subcode: { namespaceUri: RELAYBRIDGE_FAULT_NS, localName: 'RELAY_ERR_TARGET_BAD_RESPONSE', prefix: 'r' },
      reason:
        `The service answered HTTP ${res.statusCode} ${res.body.length === 0 ? 'with no body' : `(${contentType ?? 'no content type'})`} instead of a SOAP ${res.statusCode < 300 ? 'reply to a request-reply message' : 'message'}` +
        (res.headers[CORRELATION_HEADER] ? ` (id ${res.headers[CORRELATION_HEADER]}).` : '.'),
      addressing: { version: 'wsa10', relatesTo: messageId },
    }).body,
  );
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
