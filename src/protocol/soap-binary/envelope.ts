/**
 * Binary SOAP envelopes of net.tcp and their SOAP 1.2 XML text form.
 *
 * Payload forms (wcf-wire.md §1.4, §3.2):
 *   application/soap+msbin1         NBFX document, static dictionary only ([MC-NBFS]);
 *   application/soap+msbinsession1  MB31-size-prefixed StringTable, then the NBFX document, with
 *                                   the connection's per-direction session strings ([MC-NBFSE]).
 *
 * Conversions: binaryToXml() decodes and prints the XML text (empty elements as <a></a>, the
 * way the captures' decoders print them). xmlToBinary() parses text and writes NBFX; text
 * carries no record types, so the writer's choices come from a StringPolicy: createSoapStringPolicy()
 * reproduces what the .NET WCF writer chooses for SOAP 1.2 + WS-Addressing 1.0 envelopes (body
 * names and namespaces as session strings, header names from the static dictionary, optionally
 * a:Action / a:To values as dictionary text). Where another writer (Mono, pynettcp) chose
 * differently, only token-level re-encoding (decode -> tokens with hints -> encode) is exact.
 */
import { ProtocolError } from '../../core/errors';
import { readNbfx, staticKey, writeNbfx, type NbfxLimits, type NbfxWriterOptions, type SessionReader, type SessionWriter, type StringPolicy } from '../nbfx';
import { SOAP12_ENVELOPE_NS as SOAP12_NAMESPACE, WSA10_NS as WSA10_NAMESPACE } from '../soap/addressing';
import { parseXml } from '../xml/text-reader';
import { writeXml } from '../xml/text-writer';
import type { XmlToken } from '../xml/tokens';

export interface DecodeEnvelopeOptions {
  /** The peer's session strings (msbinsession1); absent = msbin1 payload without a StringTable. */
  readonly session?: SessionReader;
  readonly limits?: Partial<NbfxLimits>;
  /** Typed hints for exact re-encoding (default true); false when the tokens are only read. */
  readonly hints?: boolean;
}

/**
 * Decodes one envelope payload to tokens (with typed hints unless told). With a session, the
 * StringTable is read first and its strings stay in the session; any error poisons the session, as in WCF.
 */
export function decodeEnvelope(payload: Uint8Array, options: DecodeEnvelopeOptions = {}): XmlToken[] {
  const { session, limits, hints } = options;
  if (!session) return readNbfx(payload, { limits, hints });
  const offset = session.readStringTable(payload);
  try {
    return readNbfx(payload.subarray(offset), { session, limits, hints });
  } catch (err) {
    if (err instanceof ProtocolError) session.poison(err);
    throw err;
  }
}

export interface EncodeEnvelopeOptions extends Omit<NbfxWriterOptions, 'session'> {
  /** Our session strings (msbinsession1): the payload then starts with a StringTable. */
  readonly session?: SessionWriter;
}

/**
 * Encodes tokens as one envelope payload: [stringTable, nbfx] with a session (the table may be
 * the single byte 00; it is never omitted, wcf-wire.md §3.2), [nbfx] without.
 */
export function encodeEnvelope(tokens: Iterable<XmlToken>, options: EncodeEnvelopeOptions = {}): Buffer[] {
  const { session } = options;
  if (!session) return [writeNbfx(tokens, options)];
  try {
    const body = writeNbfx(tokens, options);
    return [session.takeStringTable(), body];
  } catch (err) {
    session.discardPending();
    throw err;
  }
}

export interface BinaryToXmlOptions extends DecodeEnvelopeOptions {
  /** Write empty elements as <a/>. Default false (<a></a>). */
  readonly selfClose?: boolean;
}

/** Binary envelope payload -> XML text. */
export function binaryToXml(payload: Uint8Array, options: BinaryToXmlOptions = {}): string {
  return writeXml(decodeEnvelope(payload, options), { selfClose: options.selfClose ?? false });
}

/** XML text -> binary envelope payload parts (see encodeEnvelope). */
export function xmlToBinary(xml: string | Buffer, options: EncodeEnvelopeOptions = {}): Buffer[] {
  return encodeEnvelope(parseXml(xml), { policy: SOAP_STRING_POLICY, ...options });
}

export interface SoapStringPolicyOptions {
  /**
   * Write the text of a:Action and a:To in the SOAP header as dictionary strings (static when
   * present, else session), as the .NET WCF writer does (they are XmlDictionaryStrings there).
   * Default true. Set false to match writers that send them as literal text.
   */
  readonly headerTextAsDictionary?: boolean;
}

/**
 * The .NET WCF writer's string choices for SOAP 1.2 envelopes (wcf-wire.md §3.3, §4.2):
 * - inside s:Body, names and namespaces that are not SOAP's own go to the session (they come
 *   from DataContractSerializer's dictionary, even when the static table has the same string,
 *   e.g. xmlns:i XMLSchema-instance); elsewhere the default (static, else session) applies;
 * - xml:* attribute names are literal;
 * - a:Address text is static dictionary text when the static table has it (anonymous), else literal;
 * - a:Action / a:To text in the header: dictionary text (see headerTextAsDictionary).
 */
export function createSoapStringPolicy(options: SoapStringPolicyOptions = {}): StringPolicy {
  const headerText = options.headerTextAsDictionary ?? true;
  return (value, ctx) => {
    const owner = ctx.path[ctx.path.length - 1];
    const inBody = ctx.path.some((e, i) => i === 1 && e.localName === 'Body' && ctx.resolve(e.prefix) === SOAP12_NAMESPACE);
    switch (ctx.use) {
      case 'attributeName':
        if (ctx.attribute?.prefix === 'xml') return 'literal';
        if (inBody && ctx.attribute && ctx.attribute.prefix !== '' && ctx.resolve(ctx.attribute.prefix) !== SOAP12_NAMESPACE) return 'session';
        return undefined;
      case 'elementName':
        return inBody && owner && ctx.resolve(owner.prefix) !== SOAP12_NAMESPACE ? 'session' : undefined;
      case 'namespace':
        return inBody && value !== SOAP12_NAMESPACE && value !== WSA10_NAMESPACE ? 'session' : undefined;
      case 'text': {
        if (ctx.attribute || !owner || ctx.resolve(owner.prefix) !== WSA10_NAMESPACE) return undefined;
        if (owner.localName === 'Address') return staticKey(value) !== undefined ? 'static' : 'literal';
        const inHeader = ctx.path.length === 3 && ctx.path[1]!.localName === 'Header';
        if (headerText && inHeader && (owner.localName === 'Action' || owner.localName === 'To')) return 'static';
        return undefined;
      }
    }
  };
}

/** The WCF writer's default choices (createSoapStringPolicy() with no options): stateless, one for every encoder. */
export const SOAP_STRING_POLICY: StringPolicy = createSoapStringPolicy();
