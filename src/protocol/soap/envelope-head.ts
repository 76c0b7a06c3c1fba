/**
 * The one reader of a SOAP envelope's head (SOAP 1.1 §4, SOAP 1.2 Part 1 §5): Envelope, Header,
 * each header block and the Body start, with their positions. It is a TokenHandler, fed by the
 * text scanner (scanXml: positions are character offsets) or by a token array from the NBFX
 * reader (walkTokens: positions are token indices), so text and binary envelopes are read by the
 * same code. What it finds is the raw material of SoapMessage (text) and TokenSoapMessage
 * (binary): version, addressing, the fault flag, and the ranges edits splice.
 *
 * Grammar checked: Envelope ::= <Envelope> Header? Body </Envelope>, both children in the
 * envelope's namespace, no text directly inside Envelope. A violation throws ProtocolError.
 */
import { ProtocolError } from '../../core/errors';
import type { TokenHandler, TokenInfo } from '../xml/text-reader';
import type { XmlToken } from '../xml/tokens';
import { RELAY_CONNECT_NS, soapVersionOfNamespace, type SoapVersion } from './addressing';

/** Positions of an element: start tag, content start, content end (its end tag), after its end tag. */
export type Span = [start: number, contentStart: number, contentEnd: number, end: number];

/** One header block as read (positions in the reader's units). */
export interface HeaderBlock {
  readonly prefix: string;
  readonly localName: string;
  readonly namespaceUri: string;
  mustUnderstand: boolean;
  /** All descendant text, concatenated. */
  text: string;
  /** ReplyTo, FaultTo, From: the text of their Address child. */
  address?: string;
  /** EncodingType attribute of a child (BinarySecurityToken inside RelayAccessToken). */
  encodingType?: string;
  readonly span: Span;
}

export interface HeadReaderOptions {
  /**
   * Where the reader stops: at the first element inside Body ('bodyChild', the default: the fault
   * flag is known), or as soon as Body starts ('body': for a prefix of which the Body may not
   * have arrived yet).
   */
  readonly stopAt?: 'bodyChild' | 'body';
  /** Stops right after a header block for which this returns true (the first relay token, say). */
  readonly stopAfter?: (block: HeaderBlock) => boolean;
}

export function invalidEnvelope(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Invalid SOAP message: ${message}`);
}

/** The relay credentials header (Azure Relay connect namespace, wcf-wire.md §5.3). */
export function isRelayTokenHeader(block: { readonly namespaceUri: string; readonly localName: string }): boolean {
  return block.namespaceUri === RELAY_CONNECT_NS && block.localName === 'RelayAccessToken';
}

/** The token a RelayAccessToken header carries: its text, base64-decoded when its child says Base64Binary. */
export function relayTokenOf(block: { readonly text: string; readonly encodingType?: string }): string {
  const raw = block.text.trim();
  return block.encodingType?.endsWith('Base64Binary') ? Buffer.from(raw, 'base64').toString('utf8') : raw;
}

export class EnvelopeHeadReader {
  /** Set once the root element is read: a SOAP 1.1 or 1.2 Envelope. */
  soapVersion: SoapVersion | undefined;
  envelopeNamespace = '';
  envelopePrefix = '';
  /** Set when the root element is not a SOAP Envelope (the reader then threw). */
  notEnvelope = false;
  header: Span | undefined;
  readonly headers: HeaderBlock[] = [];
  body: Span | undefined;
  bodyQName = '';
  envelopeQName = '';
  bodyFirstChild: { readonly namespaceUri: string; readonly localName: string } | undefined;
  /** Where the reader stood when it stopped: in the Body (the usual end), or after a stopAfter block. */
  stoppedAt: 'body' | 'block' | undefined;
  /** The header block stopAfter chose. */
  stoppedBlock: HeaderBlock | undefined;

  readonly #options: HeadReaderOptions;
  #phase: 'start' | 'envelope' | 'header' | 'body' = 'start';
  #current: HeaderBlock | undefined;
  #inAddress = false;

  constructor(options: HeadReaderOptions = {}) {
    this.#options = options;
  }

  /** The TokenHandler to give scanXml or walkTokens. */
  readonly onToken: TokenHandler = (token: XmlToken, info: TokenInfo): boolean => {
    switch (token.kind) {
      case 'startElement':
        return this.#start(token.prefix, token.localName, info);
      case 'attribute': {
        const current = this.#current;
        if (!current) return true;
        if (info.depth === 3 && token.localName === 'mustUnderstand' && info.namespaceUri === this.envelopeNamespace) {
          const v = token.value.trim();
          current.mustUnderstand = v === '1' || v === 'true';
        } else if (info.depth === 4 && token.localName === 'EncodingType') {
          current.encodingType = token.value;
        }
        return true;
      }
      case 'text':
        if (this.#current) {
          this.#current.text += token.value;
          if (this.#inAddress && info.depth === 4) this.#current.address += token.value;
        } else if (this.#phase === 'envelope' && info.depth <= 2 && token.value.trim() !== '') {
          throw invalidEnvelope('text directly inside Envelope');
        }
        return true;
      case 'endElement':
        return this.#end(info);
      default:
        return true;
    }
  };

  #start(prefix: string, localName: string, info: TokenInfo): boolean {
    const ns = info.namespaceUri ?? '';
    if (info.depth === 1) {
      const version = localName === 'Envelope' ? soapVersionOfNamespace(ns) : undefined;
      if (version === undefined) {
        this.notEnvelope = true;
        throw invalidEnvelope(`root element is {${ns}}${localName}, not a SOAP 1.1 or 1.2 Envelope`);
      }
      this.soapVersion = version;
      this.envelopeNamespace = ns;
      this.envelopePrefix = prefix;
      this.envelopeQName = prefix ? `${prefix}:${localName}` : localName;
      this.#phase = 'envelope';
    } else if (info.depth === 2) {
      if (ns === this.envelopeNamespace && localName === 'Header' && !this.header && !this.body) {
        this.header = [info.start, info.end, info.end, info.end];
        this.#phase = 'header';
      } else if (ns === this.envelopeNamespace && localName === 'Body' && !this.body) {
        this.body = [info.start, info.end, info.end, info.end];
        this.bodyQName = prefix ? `${prefix}:${localName}` : localName;
        this.#phase = 'body';
        if (this.#options.stopAt === 'body') return this.#stop('body');
      } else {
        throw invalidEnvelope(`unexpected {${ns}}${localName} in Envelope (expected Header, then Body)`);
      }
    } else if (this.#phase === 'body') {
      this.bodyFirstChild = { namespaceUri: ns, localName };
      return this.#stop('body'); // the Body content is not the head's to read
    } else if (this.#phase === 'header' && info.depth === 3) {
      this.#current = { prefix, localName, namespaceUri: ns, mustUnderstand: false, text: '', span: [info.start, info.end, info.end, info.end] };
    } else if (this.#current && info.depth === 4 && localName === 'Address' && ns === this.#current.namespaceUri) {
      this.#inAddress = true;
      this.#current.address = '';
    }
    return true;
  }

  #end(info: TokenInfo): boolean {
    if (info.depth === 4) this.#inAddress = false;
    if (info.depth === 3 && this.#current) {
      const block = this.#current;
      block.span[2] = info.start;
      block.span[3] = info.end;
      this.headers.push(block);
      this.#current = undefined;
      if (this.#options.stopAfter?.(block)) {
        this.stoppedBlock = block;
        return this.#stop('block');
      }
    } else if (info.depth === 2 && this.#phase === 'header' && this.header) {
      this.header[2] = info.start;
      this.header[3] = info.end;
      this.#phase = 'envelope';
    } else if (info.depth === 2 && this.#phase === 'body' && this.body) {
      this.body[2] = info.start;
      this.body[3] = info.end;
      this.#phase = 'envelope';
    }
    return true;
  }

  #stop(at: 'body' | 'block'): false {
    this.stoppedAt = at;
    return false;
  }

  /** The Header has ended (or the Body began without one). */
  get headerDone(): boolean {
    return this.body !== undefined || (this.header !== undefined && this.#phase !== 'header');
  }

  /** True when the first child of Body is the version's Fault. */
  get isFault(): boolean {
    return this.bodyFirstChild?.namespaceUri === this.envelopeNamespace && this.bodyFirstChild.localName === 'Fault';
  }
}
