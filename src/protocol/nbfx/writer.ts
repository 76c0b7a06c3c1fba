/**
 * [MC-NBFX] writer: XmlToken[] -> binary XML bytes.
 *
 * For each name, namespace and text the writer picks a record (wcf-wire.md §2.4 lists the
 * choices the .NET writer makes):
 *   1. a typed hint left by the NBFX reader (hints.ts), when it still matches the token: this
 *      re-emits the exact record read, so decode -> encode is byte-identical;
 *   2. else the StringPolicy, when given (e.g. envelope.ts's WCF-like choices for SOAP headers);
 *   3. else the defaults: names and namespaces from the static dictionary ([MC-NBFS]) when
 *      present, else from the session ([MC-NBFSE], within its quota), else literal; text as the
 *      narrowest typed record it canonically is (0/1, true/false, integers, urn:uuid) else Chars;
 *      a text directly followed by its element's end uses the WithEndElement form.
 * Invalid token sequences are a ProtocolError.
 */
import { ProtocolError } from '../../core/errors';
import { NamespaceScope, type AttributeToken, type StartElementToken, type XmlToken } from '../xml/tokens';
import { ByteWriter } from './byte-cursor';
import { nameHintOf, textHintOf, type NbfxNameHint, type NbfxTextHint } from './hints';
import { RecordType, prefixLetterIndex } from './record-types';
import type { SessionWriter } from './session-dictionary';
import { staticKey, staticString } from './static-dictionary';
import { INT64_MAX, INT64_MIN, UINT64_MAX, UNIQUE_ID_PREFIX, parseCanonicalInteger, parseGuid } from './text-values';

export type StringUse = 'elementName' | 'attributeName' | 'namespace' | 'text';
export type StringChoice = 'static' | 'session' | 'literal';

export interface StringContext {
  readonly use: StringUse;
  /** Open elements, outermost first; for 'text' and attribute uses the last one is the owner. */
  readonly path: readonly StartElementToken[];
  /** For 'attributeName' and attribute values: the attribute. */
  readonly attribute?: { readonly prefix: string; readonly localName: string };
  /** Resolves a prefix in the current scope (the owner element's own declarations included). */
  readonly resolve: (prefix: string) => string | undefined;
}

/** Chooses how a string without a usable hint is written; undefined keeps the default. */
export type StringPolicy = (value: string, context: StringContext) => StringChoice | undefined;

export interface NbfxWriterOptions {
  /** Our session dictionary ([MC-NBFSE]); absent = static dictionary and literals only (msbin1). */
  readonly session?: SessionWriter;
  readonly policy?: StringPolicy;
  /** Re-emit records from typed hints. Default true. */
  readonly useHints?: boolean;
  /** Write canonical integers/booleans/urn:uuid text as typed records. Default true. */
  readonly inferTypes?: boolean;
  /** Fold text followed by its EndElement into the WithEndElement form. Default true. */
  readonly foldEndElement?: boolean;
}

/**
 * One text record of literal UTF-8 characters (Chars8/16/32Text, [MC-NBFX] §2.3.10-§2.3.12),
 * the WithEndElement form when `withEndElement`: what a caller splicing an element's content in
 * place writes.
 */
export function writeCharsText(value: string, withEndElement: boolean): Buffer {
  const o = new ByteWriter();
  charsRecord(o, value, withEndElement ? 1 : 0);
  return o.toBuffer();
}

/** A Chars8/16/32Text record (`end` 1: its WithEndElement form), the shortest length field that fits. */
function charsRecord(o: ByteWriter, value: string, end: number): void {
  const len = Buffer.byteLength(value, 'utf8');
  if (len <= 0xff) {
    o.uint8(RecordType.Chars8Text + end);
    o.uint8(len);
  } else if (len <= 0xffff) {
    o.uint8(RecordType.Chars16Text + end);
    o.uint16(len);
  } else {
    o.uint8(RecordType.Chars32Text + end);
    o.int32(len);
  }
  o.bytes(Buffer.from(value, 'utf8'));
}

function invalid(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Cannot write NBFX: ${message}`);
}

/** Encodes a token sequence as one NBFX document. */
export function writeNbfx(tokens: Iterable<XmlToken>, options: NbfxWriterOptions = {}): Buffer {
  return new NbfxWriter(options).write(Array.isArray(tokens) ? (tokens as XmlToken[]) : [...tokens]);
}

type Family = 'short' | 'general' | 'letter';

function familyOf(record: number, attribute: boolean): { family: Family; dictionary: boolean } | undefined {
  if (attribute) {
    if (record === RecordType.ShortAttribute) return { family: 'short', dictionary: false };
    if (record === RecordType.ShortDictionaryAttribute) return { family: 'short', dictionary: true };
    if (record === RecordType.Attribute) return { family: 'general', dictionary: false };
    if (record === RecordType.DictionaryAttribute) return { family: 'general', dictionary: true };
    if (record >= RecordType.PrefixDictionaryAttributeA && record <= RecordType.PrefixDictionaryAttributeZ) return { family: 'letter', dictionary: true };
    if (record >= RecordType.PrefixAttributeA && record <= RecordType.PrefixAttributeZ) return { family: 'letter', dictionary: false };
    return undefined;
  }
  if (record === RecordType.ShortElement) return { family: 'short', dictionary: false };
  if (record === RecordType.ShortDictionaryElement) return { family: 'short', dictionary: true };
  if (record === RecordType.Element) return { family: 'general', dictionary: false };
  if (record === RecordType.DictionaryElement) return { family: 'general', dictionary: true };
  if (record >= RecordType.PrefixDictionaryElementA && record <= RecordType.PrefixDictionaryElementZ) return { family: 'letter', dictionary: true };
  if (record >= RecordType.PrefixElementA && record <= RecordType.PrefixElementZ) return { family: 'letter', dictionary: false };
  return undefined;
}

class NbfxWriter {
  readonly #out = new ByteWriter();
  readonly #session: SessionWriter | undefined;
  readonly #policy: StringPolicy | undefined;
  readonly #useHints: boolean;
  readonly #infer: boolean;
  readonly #fold: boolean;
  readonly #path: StartElementToken[] = [];
  readonly #scope = new NamespaceScope();
  readonly #resolve = (prefix: string): string | undefined => this.#scope.resolve(prefix);

  constructor(options: NbfxWriterOptions) {
    this.#session = options.session;
    this.#policy = options.policy;
    this.#useHints = options.useHints ?? true;
    this.#infer = options.inferTypes ?? true;
    this.#fold = options.foldEndElement ?? true;
  }

  write(tokens: readonly XmlToken[]): Buffer {
    let inStartTag = false;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      switch (t.kind) {
        case 'startElement': {
          const hint = this.#useHints ? nameHintOf(t) : undefined;
          if (hint?.array) {
            const used = this.#tryArray(tokens, i, hint);
            if (used > 0) {
              i += used - 1;
              inStartTag = false;
              break;
            }
          }
          this.#enter(tokens, i);
          this.#element(t, hint);
          inStartTag = true;
          break;
        }
        case 'attribute':
          if (!inStartTag) throw invalid(`attribute ${t.localName} does not follow a start element`);
          this.#attribute(t);
          break;
        case 'endElement':
          if (this.#path.length === 0) throw invalid('endElement without an open element');
          this.#leave();
          this.#out.uint8(RecordType.EndElement);
          inStartTag = false;
          break;
        case 'text': {
          if (this.#path.length === 0) throw invalid('text outside the root element');
          inStartTag = false;
          const next = tokens[i + 1];
          const hint = this.#useHints ? textHintOf(t) : undefined;
          const fold = next?.kind === 'endElement' && (hint?.endElement ?? this.#fold);
          if (this.#text(t.value, hint, fold, this.#context('text'))) {
            this.#leave();
            i++; // the EndElement was folded into the text record
          }
          break;
        }
        case 'comment':
          inStartTag = false;
          this.#out.uint8(RecordType.Comment);
          this.#out.string(t.value);
          break;
      }
    }
    if (this.#path.length > 0) throw invalid(`element ${this.#path[this.#path.length - 1]!.localName} is not closed`);
    return this.#out.toBuffer();
  }

  /** Opens the element at tokens[at], declaring its namespaces first so policies can resolve its name. */
  #enter(tokens: readonly XmlToken[], at: number): void {
    this.#path.push(tokens[at] as StartElementToken);
    this.#scope.push();
    for (let j = at + 1; tokens[j]?.kind === 'attribute'; j++) this.#scope.declareFromAttribute(tokens[j] as AttributeToken);
  }

  #leave(): void {
    this.#path.pop();
    this.#scope.pop();
  }

  #context(use: StringUse, attribute?: AttributeToken): StringContext {
    return { use, path: this.#path, attribute, resolve: this.#resolve };
  }

  /** A dictionary key for `value` following `choice`, or undefined for a literal. */
  #key(value: string, choice: StringChoice | undefined): number | undefined {
    if (choice === 'literal') return undefined;
    if (choice !== 'session') {
      const k = staticKey(value);
      if (k !== undefined) return k;
    }
    const id = this.#session?.getOrAdd(value);
    return id === undefined ? undefined : id * 2 + 1;
  }

  /** The key a name hint asks for, if it still applies: the same static string, or a session string. */
  #hintKey(value: string, key: number | undefined): number | undefined {
    if (key === undefined) return undefined;
    if (key % 2 === 0) return staticString(key) === value ? key : undefined;
    const id = this.#session?.getOrAdd(value);
    return id === undefined ? undefined : id * 2 + 1;
  }

  #name(value: string, hint: NbfxNameHint | undefined, family: Family, use: StringUse, attribute?: AttributeToken): { key?: number; family: Family } {
    const hinted = hint ? familyOf(hint.record, use === 'attributeName') : undefined;
    if (hinted && hinted.family === family) {
      if (!hinted.dictionary) return { family };
      const key = this.#hintKey(value, hint!.key);
      if (key !== undefined) return { key, family };
    }
    const choice = this.#policy?.(value, this.#context(use, attribute));
    return { key: this.#key(value, choice), family };
  }

  #element(t: StartElementToken, hint: NbfxNameHint | undefined): void {
    const letter = prefixLetterIndex(t.prefix);
    let family: Family = t.prefix === '' ? 'short' : letter >= 0 ? 'letter' : 'general';
    // A hint may ask for the general form even where a shorter one exists (other writers do that).
    const hinted = hint ? familyOf(hint.record, false) : undefined;
    if (hinted?.family === 'general') family = 'general';
    const { key } = this.#name(t.localName, hint, family, 'elementName');
    const o = this.#out;
    if (family === 'short') {
      o.uint8(key === undefined ? RecordType.ShortElement : RecordType.ShortDictionaryElement);
    } else if (family === 'letter') {
      o.uint8((key === undefined ? RecordType.PrefixElementA : RecordType.PrefixDictionaryElementA) + letter);
    } else {
      o.uint8(key === undefined ? RecordType.Element : RecordType.DictionaryElement);
      o.string(t.prefix);
    }
    if (key === undefined) o.string(t.localName);
    else o.multiByteInt31(key);
  }

  #attribute(t: AttributeToken): void {
    const hint = this.#useHints ? nameHintOf(t) : undefined;
    const o = this.#out;
    const isNs = t.isNamespaceDeclaration === true || t.prefix === 'xmlns' || (t.prefix === '' && t.localName === 'xmlns');
    if (isNs) {
      const short = t.prefix === '';
      let key: number | undefined;
      const hintedDictionary = hint?.record === RecordType.ShortDictionaryXmlnsAttribute || hint?.record === RecordType.DictionaryXmlnsAttribute;
      const hintedString = hint?.record === RecordType.ShortXmlnsAttribute || hint?.record === RecordType.XmlnsAttribute;
      if (hintedDictionary) key = this.#hintKey(t.value, hint!.key);
      if (key === undefined && !hintedString) key = this.#key(t.value, this.#policy?.(t.value, this.#context('namespace', t)));
      if (short) o.uint8(key === undefined ? RecordType.ShortXmlnsAttribute : RecordType.ShortDictionaryXmlnsAttribute);
      else {
        o.uint8(key === undefined ? RecordType.XmlnsAttribute : RecordType.DictionaryXmlnsAttribute);
        o.string(t.localName);
      }
      if (key === undefined) o.string(t.value);
      else o.multiByteInt31(key);
      return;
    }
    const letter = prefixLetterIndex(t.prefix);
    let family: Family = t.prefix === '' ? 'short' : letter >= 0 ? 'letter' : 'general';
    const hinted = hint ? familyOf(hint.record, true) : undefined;
    if (hinted?.family === 'general') family = 'general';
    const { key } = this.#name(t.localName, hint, family, 'attributeName', t);
    if (family === 'short') {
      o.uint8(key === undefined ? RecordType.ShortAttribute : RecordType.ShortDictionaryAttribute);
    } else if (family === 'letter') {
      o.uint8((key === undefined ? RecordType.PrefixAttributeA : RecordType.PrefixDictionaryAttributeA) + letter);
    } else {
      o.uint8(key === undefined ? RecordType.Attribute : RecordType.DictionaryAttribute);
      o.string(t.prefix);
    }
    if (key === undefined) o.string(t.localName);
    else o.multiByteInt31(key);
    const valueHint = hint?.value && hint.value.text === t.value ? hint.value : undefined;
    this.#text(t.value, valueHint, false, this.#context('text', t));
  }

  /** Writes one text value; returns true when it used the WithEndElement form. */
  #text(value: string, hint: NbfxTextHint | undefined, fold: boolean, context: StringContext): boolean {
    const o = this.#out;
    if (hint && this.#hintedText(value, hint, fold)) return fold;
    const end = fold ? 1 : 0;
    const choice = this.#policy?.(value, context);
    if (choice === 'static' || choice === 'session') {
      const key = this.#key(value, choice);
      if (key !== undefined) {
        o.uint8(RecordType.DictionaryText + end);
        o.multiByteInt31(key);
        return fold;
      }
    }
    if (this.#infer && choice !== 'literal') {
      if (value === '0') return this.#record(RecordType.ZeroText, end);
      if (value === '1') return this.#record(RecordType.OneText, end);
      if (value === 'false') return this.#record(RecordType.FalseText, end);
      if (value === 'true') return this.#record(RecordType.TrueText, end);
      const n = parseCanonicalInteger(value);
      if (n !== undefined && n >= INT64_MIN && n <= UINT64_MAX) {
        if (n >= -128n && n <= 127n) {
          o.uint8(RecordType.Int8Text + end);
          o.int8(Number(n));
        } else if (n >= -32768n && n <= 32767n) {
          o.uint8(RecordType.Int16Text + end);
          o.int16(Number(n));
        } else if (n >= -2147483648n && n <= 2147483647n) {
          o.uint8(RecordType.Int32Text + end);
          o.int32(Number(n));
        } else if (n <= INT64_MAX) {
          o.uint8(RecordType.Int64Text + end);
          o.int64(n);
        } else {
          o.uint8(RecordType.UInt64Text + end);
          o.uint64(n);
        }
        return fold;
      }
      if (value.startsWith(UNIQUE_ID_PREFIX)) {
        const guid = parseGuid(value.slice(UNIQUE_ID_PREFIX.length));
        if (guid) {
          o.uint8(RecordType.UniqueIdText + end);
          o.bytes(guid);
          return fold;
        }
      }
    }
    if (value === '') return this.#record(RecordType.EmptyText, end);
    charsRecord(o, value, end);
    return fold;
  }

  #record(type: number, end: number): boolean {
    this.#out.uint8(type + end);
    return end === 1;
  }

  /** Re-emits a hinted text record; false when the hint cannot be used here. */
  #hintedText(value: string, hint: NbfxTextHint, fold: boolean): boolean {
    const o = this.#out;
    const end = fold ? 1 : 0;
    if (hint.record === RecordType.StartListText) {
      if (!hint.items) return false;
      o.uint8(RecordType.StartListText);
      for (const item of hint.items) {
        if (!this.#hintedText(item.text, item, false)) this.#text(item.text, undefined, false, this.#context('text'));
      }
      o.uint8(RecordType.EndListText);
      if (fold) o.uint8(RecordType.EndElement);
      return true;
    }
    if (hint.record === RecordType.DictionaryText) {
      const key = this.#hintKey(value, hint.key);
      if (key === undefined) return false;
      o.uint8(RecordType.DictionaryText + end);
      o.multiByteInt31(key);
      return true;
    }
    if (hint.record === RecordType.QNameDictionaryText) {
      if (hint.prefixIndex === undefined || hint.key === undefined) return false;
      const local = value.slice(2);
      const key = this.#hintKey(local, hint.key);
      if (key === undefined || value.charCodeAt(0) !== 0x61 + hint.prefixIndex || value[1] !== ':') return false;
      o.uint8(RecordType.QNameDictionaryText + end);
      o.uint8(hint.prefixIndex);
      o.multiByteInt31(key);
      return true;
    }
    if (!hint.raw || hint.record < 0x80 || hint.record > 0xbc) return false;
    o.uint8(hint.record + end);
    o.bytes(hint.raw);
    return true;
  }

  /**
   * [MC-NBFX] §2.3.3: re-packs `count` item elements into one Array record when the tokens still
   * have exactly the shape the reader expanded. Returns the number of tokens used (0 = not possible).
   */
  #tryArray(tokens: readonly XmlToken[], at: number, hint: NbfxNameHint): number {
    const { itemRecord, count } = hint.array!;
    const first = tokens[at] as StartElementToken;
    let attrCount = 0;
    while (tokens[at + 1 + attrCount]?.kind === 'attribute') attrCount++;
    const stride = 3 + attrCount;
    const raws: Buffer[] = [];
    for (let n = 0; n < count; n++) {
      const base = at + n * stride;
      const s = tokens[base];
      if (s?.kind !== 'startElement' || s.prefix !== first.prefix || s.localName !== first.localName) return 0;
      for (let a = 1; a <= attrCount; a++) {
        const x = tokens[base + a];
        const y = tokens[at + a] as AttributeToken;
        if (x?.kind !== 'attribute' || x.prefix !== y.prefix || x.localName !== y.localName || x.value !== y.value) return 0;
      }
      const text = tokens[base + 1 + attrCount];
      const end = tokens[base + 2 + attrCount];
      if (text?.kind !== 'text' || end?.kind !== 'endElement') return 0;
      const th = textHintOf(text);
      if (!th?.raw || th.record !== (itemRecord & ~1)) return 0;
      raws.push(th.raw);
    }
    const o = this.#out;
    o.uint8(RecordType.Array);
    const { array: _array, ...elementHint } = hint;
    this.#enter(tokens, at);
    this.#element(first, elementHint);
    for (let a = 1; a <= attrCount; a++) this.#attribute(tokens[at + a] as AttributeToken);
    this.#leave();
    o.uint8(RecordType.EndElement);
    o.uint8(itemRecord);
    o.multiByteInt31(count);
    for (const r of raws) o.bytes(r);
    return count * stride;
  }
}
