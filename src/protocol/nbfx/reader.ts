/**
 * [MC-NBFX] reader: binary XML bytes -> XmlToken[] (protocol/xml/tokens.ts).
 *
 * Grammar read ([MC-NBFX] §2, restated):
 *   document  = *comment element *comment
 *   element   = ElementRecord *AttributeRecord content ( EndElement / <text WithEndElement> )
 *   content   = *( element / TextRecord / comment / ArrayRecord )
 *   ArrayRecord = 0x03 ElementRecord *AttributeRecord EndElement itemType MB31(count) count*value
 *
 * Two entry points (STYLE.md habit 3): readNbfx() decodes a complete buffer (buffered NMF modes
 * hand over whole sized envelopes); NbfxStreamReader resumes mid-record for streamed
 * (singleton-unsized) mode, where chunk boundaries split records. Each record is decoded
 * atomically: when the input ends inside one, the cursor throws MoreDataError, the state is
 * rolled back, and decoding resumes from the start of that record once enough bytes arrived.
 *
 * Typed hints (hints.ts) record each record's exact form so the writer can re-emit it.
 * Every error is a ProtocolError; limits (limits.ts) are checked before expanding or allocating.
 */
import type { AttributeToken, XmlToken } from '../xml/tokens';
import { ByteCursor, MoreDataError } from './byte-cursor';
import type { NbfxNameHint, NbfxStartElementToken } from './hints';
import { resolveNbfxLimits, type NbfxLimits } from './limits';
import { ARRAY_ITEM_SIZES, RecordType, prefixLetter } from './record-types';
import { makeResolver, nbfxError, readString, readTextRecord, type DictionaryResolver } from './text-records';

export interface NbfxReaderOptions {
  /** Session strings for odd DictionaryString keys ([MC-NBFSE]); absent = static dictionary only. */
  readonly session?: { lookup(id: number): string | undefined };
  readonly limits?: Partial<NbfxLimits>;
  /** Attach typed hints for exact re-encoding. Default true. */
  readonly hints?: boolean;
  /**
   * readNbfx only: filled with, for each token, the byte offset just past the record it came
   * from, so a caller can edit the bytes of a token range in place (record `i` starts where the
   * record of token `i - 1` ended, or at 0).
   */
  readonly recordEnds?: number[];
}

interface State {
  depth: number;
  inStartTag: boolean;
  attributes: number;
  tokens: number;
  /** Characters the tokens so far expand to (limits.maxDecodedChars). */
  chars: number;
  rootDone: boolean;
}

/** Characters a token adds to the document's text form (element names twice: start and end tag). */
function charsOf(token: XmlToken): number {
  switch (token.kind) {
    case 'startElement':
      return 2 * (token.prefix.length + token.localName.length);
    case 'attribute':
      return token.prefix.length + token.localName.length + token.value.length;
    case 'text':
    case 'comment':
      return token.value.length;
    default:
      return 0;
  }
}

/** Record-at-a-time decoder holding the document state between records. */
class RecordDecoder {
  readonly #limits: NbfxLimits;
  readonly #dict: DictionaryResolver;
  readonly #hints: boolean;
  #s: State = { depth: 0, inStartTag: false, attributes: 0, tokens: 0, chars: 0, rootDone: false };

  constructor(options: NbfxReaderOptions) {
    this.#limits = resolveNbfxLimits(options.limits);
    this.#dict = makeResolver(options.session);
    this.#hints = options.hints ?? true;
  }

  snapshot(): State {
    return { ...this.#s };
  }

  restore(s: State): void {
    this.#s = s;
  }

  /** The document is complete: the root element was closed. */
  get complete(): boolean {
    return this.#s.rootDone && this.#s.depth === 0;
  }

  /** Decodes one record at the cursor into `out`. */
  decode(c: ByteCursor, out: XmlToken[]): void {
    const type = c.readUInt8();
    const s = this.#s;
    if (type === RecordType.EndElement) {
      if (s.depth === 0) throw nbfxError('EndElement with no open element');
      this.#endElement(out);
    } else if (type === RecordType.Comment) {
      s.inStartTag = false;
      this.#emit(out, { kind: 'comment', value: readString(c) });
    } else if (type === RecordType.Array) {
      this.#readArray(c, out);
    } else if (type >= RecordType.ShortAttribute && type <= RecordType.PrefixAttributeZ) {
      // [MC-NBFX] §2.2.2: attribute records directly follow their element record.
      if (!s.inStartTag) throw nbfxError(`attribute record 0x${type.toString(16)} outside a start tag`);
      if (++s.attributes > this.#limits.maxAttributesPerElement) throw nbfxError('too many attributes');
      this.#emit(out, this.#readAttribute(c, type));
    } else if (type >= RecordType.ShortElement && type <= RecordType.PrefixElementZ) {
      this.#startElement(out, this.#readElement(c, type));
    } else if (type >= 0x80 && type <= 0xbd) {
      // [MC-NBFX] §2.3: text is element content only.
      if (s.depth === 0) throw nbfxError('text outside the root element');
      s.inStartTag = false;
      const text = readTextRecord(c, type, this.#dict);
      this.#emit(out, { kind: 'text', value: text.value, typed: this.#hints ? text.hint : undefined });
      if ((type & 1) === 1) this.#endElement(out);
    } else {
      // 0x00, 0x78-0x7F and 0xBE-0xFF are not defined ([MC-NBFX] §2.2, wcf-wire.md §2.2).
      throw nbfxError(`undefined record type 0x${type.toString(16)}`);
    }
  }

  #emit(out: XmlToken[], token: XmlToken): void {
    if (++this.#s.tokens > this.#limits.maxTokens) throw nbfxError(`document exceeds ${this.#limits.maxTokens} tokens`);
    // Dictionary strings are shared, not copied, so the tokens stay small; the text they stand for
    // is what a caller writes out (binaryToXml), and that must stay bounded too.
    this.#s.chars += charsOf(token);
    if (this.#s.chars > this.#limits.maxDecodedChars) throw nbfxError(`document expands to more than ${this.#limits.maxDecodedChars} characters`);
    out.push(token);
  }

  #startElement(out: XmlToken[], token: NbfxStartElementToken): void {
    const s = this.#s;
    // A document has one root element ([MC-NBFX] §2: document = element).
    if (s.rootDone) throw nbfxError('a second root element');
    if (s.depth >= this.#limits.maxDepth) throw nbfxError(`elements nest deeper than ${this.#limits.maxDepth}`);
    s.depth++;
    s.inStartTag = true;
    s.attributes = 0;
    this.#emit(out, token);
  }

  #endElement(out: XmlToken[]): void {
    const s = this.#s;
    s.depth--;
    s.inStartTag = false;
    if (s.depth === 0) s.rootDone = true;
    this.#emit(out, { kind: 'endElement' });
  }

  #hint(h: NbfxNameHint): NbfxNameHint | undefined {
    return this.#hints ? h : undefined;
  }

  #readElement(c: ByteCursor, type: number): NbfxStartElementToken {
    let prefix = '';
    let localName: string;
    let key: number | undefined;
    if (type === RecordType.ShortElement) {
      localName = readString(c);
    } else if (type === RecordType.Element) {
      prefix = readString(c);
      localName = readString(c);
    } else if (type === RecordType.ShortDictionaryElement) {
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else if (type === RecordType.DictionaryElement) {
      prefix = readString(c);
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else if (type <= RecordType.PrefixDictionaryElementZ) {
      prefix = prefixLetter(type - RecordType.PrefixDictionaryElementA);
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else {
      prefix = prefixLetter(type - RecordType.PrefixElementA);
      localName = readString(c);
    }
    // An element needs a name (Namespaces in XML 1.0 §4 NCName).
    if (localName === '') throw nbfxError('element with an empty name');
    return { kind: 'startElement', prefix, localName, typed: this.#hint({ record: type, key }) };
  }

  #readAttribute(c: ByteCursor, type: number): AttributeToken {
    let prefix = '';
    let localName: string;
    let key: number | undefined;
    if (type >= RecordType.ShortXmlnsAttribute && type <= RecordType.DictionaryXmlnsAttribute) {
      // [MC-NBFX] §2.2.2.5-§2.2.2.8: namespace declarations.
      if (type === RecordType.XmlnsAttribute || type === RecordType.DictionaryXmlnsAttribute) {
        prefix = readString(c);
        if (prefix === '') throw nbfxError('xmlns declaration with an empty prefix');
      }
      let value: string;
      if (type === RecordType.ShortXmlnsAttribute || type === RecordType.XmlnsAttribute) {
        value = readString(c);
      } else {
        key = c.readMultiByteInt31();
        value = this.#dict.resolve(key);
      }
      const typed = this.#hint({ record: type, key });
      return prefix === ''
        ? { kind: 'attribute', prefix: '', localName: 'xmlns', value, isNamespaceDeclaration: true, typed }
        : { kind: 'attribute', prefix: 'xmlns', localName: prefix, value, isNamespaceDeclaration: true, typed };
    }
    if (type === RecordType.ShortAttribute) {
      localName = readString(c);
    } else if (type === RecordType.Attribute) {
      prefix = readString(c);
      localName = readString(c);
    } else if (type === RecordType.ShortDictionaryAttribute) {
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else if (type === RecordType.DictionaryAttribute) {
      prefix = readString(c);
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else if (type <= RecordType.PrefixDictionaryAttributeZ) {
      prefix = prefixLetter(type - RecordType.PrefixDictionaryAttributeA);
      key = c.readMultiByteInt31();
      localName = this.#dict.resolve(key);
    } else {
      prefix = prefixLetter(type - RecordType.PrefixAttributeA);
      localName = readString(c);
    }
    if (localName === '') throw nbfxError('attribute with an empty name');
    const valueType = c.readUInt8();
    // [MC-NBFX] §2.2.2: the value is one text record, never a WithEndElement form.
    if (valueType < 0x80 || valueType > 0xbd || (valueType & 1) === 1) {
      throw nbfxError(`record 0x${valueType.toString(16)} as an attribute value`);
    }
    const text = readTextRecord(c, valueType, this.#dict);
    const isNs = prefix === 'xmlns' || (prefix === '' && localName === 'xmlns');
    return {
      kind: 'attribute',
      prefix,
      localName,
      value: text.value,
      ...(isNs ? { isNamespaceDeclaration: true } : {}),
      typed: this.#hint({ record: type, key, value: text.hint }),
    };
  }

  /** [MC-NBFX] §2.3.3 Array: one element (with attributes) repeated `count` times with packed values. */
  #readArray(c: ByteCursor, out: XmlToken[]): void {
    const s = this.#s;
    if (s.depth === 0) throw nbfxError('Array record outside the root element');
    const elementType = c.readUInt8();
    if (elementType < RecordType.ShortElement || elementType > RecordType.PrefixElementZ) {
      throw nbfxError(`Array must start with an element record, not 0x${elementType.toString(16)}`);
    }
    const element = this.#readElement(c, elementType);
    const attributes: AttributeToken[] = [];
    for (;;) {
      const t = c.readUInt8();
      if (t === RecordType.EndElement) break;
      if (t < RecordType.ShortAttribute || t > RecordType.PrefixAttributeZ) throw nbfxError(`record 0x${t.toString(16)} in an Array element`);
      if (attributes.length >= this.#limits.maxAttributesPerElement) throw nbfxError('too many attributes');
      attributes.push(this.#readAttribute(c, t));
    }
    const itemType = c.readUInt8();
    const itemSize = ARRAY_ITEM_SIZES.get(itemType);
    // [MC-NBFX] §2.3.3: the item type is one of the fixed-size WithEndElement text records.
    if (itemSize === undefined) throw nbfxError(`invalid Array item type 0x${itemType.toString(16)}`);
    const count = c.readMultiByteInt31();
    // Checked before anything is expanded: each item becomes 3 + attributes tokens.
    if (count > this.#limits.maxArrayLength) throw nbfxError(`Array of ${count} items exceeds ${this.#limits.maxArrayLength}`);
    if (s.depth + 1 > this.#limits.maxDepth) throw nbfxError(`elements nest deeper than ${this.#limits.maxDepth}`);
    if (s.tokens + count * (3 + attributes.length) > this.#limits.maxTokens) throw nbfxError(`document exceeds ${this.#limits.maxTokens} tokens`);
    c.need(count * itemSize);
    s.inStartTag = false;
    for (let i = 0; i < count; i++) {
      const typed: NbfxNameHint | undefined =
        i === 0 && element.typed ? { ...element.typed, array: { itemRecord: itemType, count } } : element.typed;
      const item: NbfxStartElementToken = { ...element, typed };
      this.#emit(out, item);
      for (const a of attributes) this.#emit(out, a);
      const text = readTextRecord(c, itemType, this.#dict);
      this.#emit(out, { kind: 'text', value: text.value, typed: this.#hints ? text.hint : undefined });
      this.#emit(out, { kind: 'endElement' });
    }
  }
}

/** Decodes a complete NBFX document. Throws ProtocolError when it is malformed or truncated. */
export function readNbfx(bytes: Uint8Array, options: NbfxReaderOptions = {}): XmlToken[] {
  const decoder = new RecordDecoder(options);
  const c = new ByteCursor(bytes);
  const out: XmlToken[] = [];
  const ends = options.recordEnds;
  try {
    if (ends) {
      while (c.remaining > 0) {
        decoder.decode(c, out);
        while (ends.length < out.length) ends.push(c.offset);
      }
    } else {
      while (c.remaining > 0) decoder.decode(c, out);
    }
  } catch (err) {
    if (err instanceof MoreDataError) throw nbfxError('document is truncated inside a record');
    throw err;
  }
  if (!decoder.complete) throw nbfxError('document ends before its root element is closed');
  return out;
}

/**
 * Streaming NBFX reader for chunked input (singleton-unsized envelopes). push() returns the
 * tokens of every record completed so far; end() checks that the document is complete.
 */
export class NbfxStreamReader {
  readonly #decoder: RecordDecoder;
  #pending: Buffer[] = [];
  #pendingLength = 0;
  #needed = 0; // total pending bytes needed before the next attempt can succeed

  constructor(options: NbfxReaderOptions = {}) {
    this.#decoder = new RecordDecoder(options);
  }

  push(chunk: Buffer): XmlToken[] {
    if (chunk.length === 0) return [];
    this.#pending.push(chunk);
    this.#pendingLength += chunk.length;
    if (this.#pendingLength < this.#needed) return [];
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingLength);
    const c = new ByteCursor(buf);
    const out: XmlToken[] = [];
    for (;;) {
      if (c.remaining === 0) break;
      const start = c.offset;
      const snapshot = this.#decoder.snapshot();
      const mark = out.length;
      try {
        this.#decoder.decode(c, out);
      } catch (err) {
        if (!(err instanceof MoreDataError)) throw err;
        this.#decoder.restore(snapshot);
        out.length = mark;
        c.offset = start;
        this.#needed = err.needed - start;
        break;
      }
    }
    const rest = buf.subarray(c.offset);
    this.#pending = rest.length ? [rest] : [];
    this.#pendingLength = rest.length;
    if (rest.length === 0) this.#needed = 0;
    return out;
  }

  /** The input is complete: throws ProtocolError when a record or the document is unfinished. */
  end(): void {
    if (this.#pendingLength > 0) throw nbfxError('document is truncated inside a record');
    if (!this.#decoder.complete) throw nbfxError('document ends before its root element is closed');
  }
}
