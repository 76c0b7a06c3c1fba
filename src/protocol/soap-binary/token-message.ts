/**
 * A SOAP envelope as a token array (decoded from NBFX, or parsed from text for a binary reply),
 * read once by the same head reader as text (soap/envelope-head.ts, fed by walkTokens): version,
 * addressing, the fault flag and the token ranges of Header, each header block and Body. Edits
 * (`withoutRelayAccessToken`, `withTo`, `withReplyAddressing`) splice those ranges and shift the
 * ones after them; the message is never walked again.
 */
import { readAddressing, type AddressingInfo } from '../soap/envelope';
import { EnvelopeHeadReader, invalidEnvelope, isRelayTokenHeader, relayTokenOf, type HeaderBlock, type Span } from '../soap/envelope-head';
import { WSA10_NS, WCF_DISPATCHER_FAULT_ACTION, type SoapVersion } from '../soap/addressing';
import { walkTokens } from '../xml/token-walk';
import type { XmlToken } from '../xml/tokens';

/** A header block of a token message: its token range [start, contentStart, contentEnd, end). */
export type TokenHeader = Readonly<Omit<HeaderBlock, 'span'>> & { readonly span: Readonly<Span> };

interface Structure {
  readonly soapVersion: SoapVersion;
  readonly envelopeNamespace: string;
  readonly envelopePrefix: string;
  readonly header: Readonly<Span> | undefined;
  readonly headers: readonly TokenHeader[];
  readonly body: Readonly<Span>;
  readonly isFault: boolean;
}

export class TokenSoapMessage {
  readonly soapVersion: SoapVersion;
  readonly envelopeNamespace: string;
  readonly envelopePrefix: string;
  /** Token range of the Header element; undefined without one. */
  readonly header: Readonly<Span> | undefined;
  readonly headers: readonly TokenHeader[];
  /** Token range of the Body element (its end only when the tokens reach it). */
  readonly body: Readonly<Span>;
  readonly isFault: boolean;
  readonly addressing: AddressingInfo | undefined;

  private constructor(
    readonly tokens: readonly XmlToken[],
    s: Structure,
  ) {
    this.soapVersion = s.soapVersion;
    this.envelopeNamespace = s.envelopeNamespace;
    this.envelopePrefix = s.envelopePrefix;
    this.header = s.header;
    this.headers = s.headers;
    this.body = s.body;
    this.isFault = s.isFault;
    this.addressing = readAddressing(s.headers);
  }

  /**
   * Reads an envelope's tokens (the head, and where Body ends). Throws ProtocolError when they
   * are not a SOAP 1.1/1.2 envelope with a Body closed by </Body></Envelope>.
   */
  static read(tokens: readonly XmlToken[]): TokenSoapMessage {
    const reader = TokenSoapMessage.#reader(tokens);
    if (!reader.body || reader.soapVersion === undefined) throw invalidEnvelope('Envelope has no Body');
    if (reader.stoppedAt === 'body') {
      // Stopped at the Body's first child: </Body></Envelope> must be the last elements.
      const envelopeEnd = lastEnd(tokens, tokens.length);
      const bodyEnd = lastEnd(tokens, envelopeEnd);
      if (bodyEnd < reader.body[1]) throw invalidEnvelope('Body is not closed by </Body></Envelope> at the end of the message');
      reader.body[2] = bodyEnd;
      reader.body[3] = bodyEnd + 1;
    }
    return TokenSoapMessage.#from(tokens, reader);
  }

  /**
   * The head of the first tokens of an envelope (a prefix still arriving): undefined while the
   * Body has not started. Its Body range ends where the Body content starts (its end is not known).
   * Throws ProtocolError when the tokens are not a SOAP envelope.
   */
  static readHead(tokens: readonly XmlToken[]): TokenSoapMessage | undefined {
    const reader = TokenSoapMessage.#reader(tokens);
    if (!reader.body || reader.soapVersion === undefined) return undefined;
    return TokenSoapMessage.#from(tokens, reader);
  }

  static #reader(tokens: readonly XmlToken[]): EnvelopeHeadReader {
    const reader = new EnvelopeHeadReader();
    walkTokens(tokens, reader.onToken);
    return reader;
  }

  static #from(tokens: readonly XmlToken[], reader: EnvelopeHeadReader): TokenSoapMessage {
    return new TokenSoapMessage(tokens, {
      soapVersion: reader.soapVersion!,
      envelopeNamespace: reader.envelopeNamespace,
      envelopePrefix: reader.envelopePrefix,
      header: reader.header,
      headers: reader.headers,
      body: reader.body!,
      isFault: reader.isFault,
    });
  }

  /** The first RelayAccessToken header's token (base64-decoded when it says Base64Binary). */
  get relayToken(): string | undefined {
    const h = this.headers.find(isRelayTokenHeader);
    return h && relayTokenOf(h);
  }

  /** Every RelayAccessToken header removed (relay credentials never reach the service). */
  withoutRelayAccessToken(): TokenSoapMessage {
    let message: TokenSoapMessage = this;
    for (let h = message.headers.find(isRelayTokenHeader); h; h = message.headers.find(isRelayTokenHeader)) {
      const removed = h;
      message = message.#splice(removed.span[0], removed.span[3] - removed.span[0], [], message.headers.filter((x) => x !== removed));
    }
    return message;
  }

  /** The wsa:To header's value replaced; the same message when it has none. */
  withTo(to: string): TokenSoapMessage {
    const h = this.headers.find((x) => x.localName === 'To' && x.namespaceUri === this.addressing?.namespace);
    if (!h) return this;
    const [, contentStart, contentEnd] = h.span;
    return this.#splice(contentStart, contentEnd - contentStart, [{ kind: 'text', value: to }], this.headers, (x) => (x === h ? { text: to } : {}));
  }

  /**
   * A reply with the WS-Addressing 1.0 headers WCF correlates by (wcf-wire.md §4.3): RelatesTo the
   * request's MessageID and an Action (the request's + "Response", or the dispatcher fault action
   * for a fault), each added only when the reply lacks it. The blocks go at the end of the Header,
   * or in a new Header before the Body.
   */
  withReplyAddressing(request: { readonly action?: string; readonly messageId?: string }): TokenSoapMessage {
    const blocks: Array<{ localName: string; value: string }> = [];
    if (this.addressing?.action === undefined) {
      const action = this.isFault ? WCF_DISPATCHER_FAULT_ACTION : request.action !== undefined ? `${request.action}Response` : undefined;
      if (action !== undefined) blocks.push({ localName: 'Action', value: action });
    }
    if (this.addressing?.relatesTo === undefined && request.messageId !== undefined) blocks.push({ localName: 'RelatesTo', value: request.messageId });
    if (blocks.length === 0) return this;
    // Inserted at q: the end of the Header's content, or before the Body in a new Header.
    const open = !this.header;
    const q = open ? this.body[0] : this.header![2];
    const insert: XmlToken[] = [];
    if (open) insert.push({ kind: 'startElement', prefix: this.envelopePrefix, localName: 'Header' });
    const added: TokenHeader[] = [];
    for (const b of blocks) {
      const start = q + insert.length;
      insert.push(
        { kind: 'startElement', prefix: '', localName: b.localName },
        { kind: 'attribute', prefix: '', localName: 'xmlns', value: WSA10_NS, isNamespaceDeclaration: true },
        { kind: 'text', value: b.value },
        { kind: 'endElement' },
      );
      added.push({ prefix: '', localName: b.localName, namespaceUri: WSA10_NS, mustUnderstand: false, text: b.value, span: [start, start + 2, start + 3, start + 4] });
    }
    if (open) insert.push({ kind: 'endElement' });
    const n = insert.length;
    // Positions after q move; the last header block's end (= q) stays, the Header's content end and a Body starting at q move.
    const move = (p: number): number => (p > q ? p + n : p);
    const h = this.header;
    const b = this.body;
    return new TokenSoapMessage([...this.tokens.slice(0, q), ...insert, ...this.tokens.slice(q)], {
      ...this.#structure(),
      header: h ? [h[0], h[1], h[2] + n, move(h[3])] : [q, q + 1, q + n - 1, q + n],
      headers: [...this.headers, ...added],
      body: [open ? b[0] + n : move(b[0]), move(b[1]), move(b[2]), move(b[3])],
    });
  }

  #structure(): Structure {
    return {
      soapVersion: this.soapVersion,
      envelopeNamespace: this.envelopeNamespace,
      envelopePrefix: this.envelopePrefix,
      header: this.header,
      headers: this.headers,
      body: this.body,
      isFault: this.isFault,
    };
  }

  /**
   * Replaces `count` (> 0) tokens at `at` with `insert`; every position from the end of the
   * replaced range on moves by the difference. `headers` are the blocks that remain; `change`
   * edits a block's fields.
   */
  #splice(at: number, count: number, insert: readonly XmlToken[], headers: readonly TokenHeader[], change?: (h: TokenHeader) => Partial<TokenHeader>): TokenSoapMessage {
    const end = at + count;
    const delta = insert.length - count;
    const move = (p: number): number => (p >= end ? p + delta : p);
    const span = (s: Readonly<Span>): Span => [move(s[0]), move(s[1]), move(s[2]), move(s[3])];
    return new TokenSoapMessage([...this.tokens.slice(0, at), ...insert, ...this.tokens.slice(end)], {
      ...this.#structure(),
      header: this.header && span(this.header),
      headers: headers.map((h) => ({ ...h, ...change?.(h), span: span(h.span) })),
      body: span(this.body),
    });
  }
}

/** Index of the last endElement before `before`, past whitespace text and comments; -1 when another token comes first. */
function lastEnd(tokens: readonly XmlToken[], before: number): number {
  for (let i = before - 1; i >= 0; i--) {
    const t = tokens[i]!;
    if (t.kind === 'endElement') return i;
    if (t.kind === 'comment' || (t.kind === 'text' && t.value.trim() === '')) continue;
    return -1;
  }
  return -1;
}
