/**
 * Text XML -> XmlToken tokenizer: a small, hand-written, safe XML 1.0 (5th ed.) + Namespaces 1.0
 * reader for SOAP messages. No dependencies, no I/O, no recursion.
 *
 * Grammar accepted (XML 1.0 §2.1 `document`, minus DTDs):
 *   document  ::= BOM? XMLDecl? Misc* element Misc*
 *   Misc      ::= Comment | PI | S
 *   element   ::= '<' QName (S Attribute)* S? ('/>' | '>' content '</' QName S? '>')
 *   content   ::= (CharData | Reference | CDSect | PI | Comment | element)*
 *   Reference ::= '&lt;' | '&gt;' | '&amp;' | '&quot;' | '&apos;' | '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'
 *
 * Security decisions (each a ProtocolError, never another exception):
 * - Any `<!DOCTYPE` (and any other `<!` markup declaration) is refused. With no DTD there are no
 *   user-defined entities, so entity expansion ("billion laughs", external entities / XXE) is
 *   impossible by construction; output is linear in input.
 * - Every limit in limits.ts is checked before the thing it limits is kept.
 * - Characters outside the XML `Char` production (§2.2), including lone surrogates, are refused.
 *
 * Output model (tokens.ts): prefixes are kept as written; namespace declarations are attribute
 * tokens with `isNamespaceDeclaration: true`; text has references decoded and line endings
 * normalised (§2.11: CRLF and CR -> LF); attribute values are normalised per §3.3.3 (literal
 * TAB/LF/CR -> space, character references kept). `<a/>` and `<a></a>` both give
 * startElement, endElement. Comments are reported inside the root element only; the XML
 * declaration, processing instructions, and whitespace/comments outside the root are skipped.
 * The declared `encoding` is not consulted: Buffers are decoded from their BOM (UTF-8 by default,
 * UTF-16 LE/BE with a BOM), and invalid UTF-8 is an error.
 */
import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../../core/errors';
import { resolveXmlLimits, type XmlLimits } from './limits';
import { XML_NAMESPACE, XMLNS_NAMESPACE, type AttributeToken, type XmlToken } from './tokens';

/** Where a token came from, and its namespace, passed with every token by scanXml. */
export interface TokenInfo {
  /** UTF-16 offset in ScanResult.text where the token's markup starts. */
  readonly start: number;
  /**
   * UTF-16 offset just after the token's markup. For startElement it is the end of the whole
   * start tag (after `>` or `/>`), so `end` of a startElement is where the element's content
   * begins, and `start` of its endElement is where the content ends. The endElement of `<a/>`
   * is the empty span at the end of `<a/>`.
   */
  readonly end: number;
  /** Element depth: the root element is 1; text, comments and attributes have their element's depth. */
  readonly depth: number;
  /**
   * startElement and attribute tokens: the namespace URI of the prefix ('' = no namespace;
   * unprefixed attributes are in no namespace; xmlns declarations are in XMLNS_NAMESPACE).
   * Undefined for other tokens.
   */
  readonly namespaceUri?: string;
}

/** Return false to stop the scan; anything else continues. */
export type TokenHandler = (token: XmlToken, info: TokenInfo) => boolean | void;

export interface ScanResult {
  /** The decoded document text that TokenInfo offsets refer to (a BOM, if any, is kept as U+FEFF). */
  readonly text: string;
  /** False when the handler stopped the scan; then the rest of the document was not checked. */
  readonly complete: boolean;
  /**
   * Byte offset in the input that corresponds to a UTF-16 offset in `text` (for string input,
   * the offset in its UTF-8 encoding). Cheap for increasing offsets.
   */
  byteOffset(charOffset: number): number;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;

// XML 1.0 5th ed. §2.3 NameStartChar / NameChar (the colon is split off afterwards for QNames).
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF' +
  '\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
// §2.2 Char, negated: anything matching is not allowed anywhere in a document.
const INVALID_CHAR_RE = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
// Cheap pre-check without the u flag: anything INVALID_CHAR_RE can match also matches this.
const SUSPECT_CHAR_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const WHITESPACE_ONLY_RE = /^[ \t\r\n]*$/;
const DECIMAL_RE = /^[0-9]{1,7}$/;
const HEX_RE = /^[0-9a-fA-F]{1,6}$/;
const MAX_REFERENCE_CHARS = 64; // how far to look for the ';' of a reference

const PREDEFINED_ENTITIES: ReadonlyMap<string, string> = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"]]);

function invalid(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Malformed XML: ${message}`, { cause });
}

function tooLarge(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE', `XML limit exceeded: ${message}`);
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

interface Decoded {
  readonly text: string;
  readonly byteOffset: (charOffset: number) => number;
}


/** Maps UTF-16 offsets to UTF-8 byte offsets, incrementally for increasing offsets. */
function utf8OffsetMapper(text: string): (charOffset: number) => number {
  let lastChar = 0;
  let lastByte = 0;
  return (charOffset) => {
    if (charOffset < lastChar) {
      lastChar = 0;
      lastByte = 0;
    }
    lastByte += Buffer.byteLength(text.slice(lastChar, charOffset), 'utf8');
    lastChar = charOffset;
    return lastByte;
  };
}

/** Checks the size limit, then decodes bytes by BOM (UTF-8 default; UTF-16 LE/BE with a BOM). */
function decodeInput(input: string | Buffer, limits: XmlLimits): Decoded {
  if (typeof input === 'string') {
    // UTF-16 length <= UTF-8 length, so only measure exactly when it could matter.
    if (input.length > limits.maxInputBytes || Buffer.byteLength(input, 'utf8') > limits.maxInputBytes) {
      throw tooLarge(`input is larger than maxInputBytes ${limits.maxInputBytes}`);
    }
    return { text: input, byteOffset: utf8OffsetMapper(input) };
  }
  if (input.length > limits.maxInputBytes) {
    throw tooLarge(`input of ${input.length} bytes is larger than maxInputBytes ${limits.maxInputBytes}`);
  }
  const b0 = input[0];
  const b1 = input[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    if (input.length % 2 !== 0) throw invalid('UTF-16 input has an odd number of bytes');
    const le = b0 === 0xff ? input : Buffer.from(input).swap16();
    return { text: le.toString('utf16le'), byteOffset: (c) => c * 2 };
  }
  if (!isUtf8(input)) throw invalid('input is not valid UTF-8');
  const text = input.toString('utf8');
  // All ASCII (the usual SOAP envelope): character and byte offsets are the same.
  return { text, byteOffset: text.length === input.length ? (c) => c : utf8OffsetMapper(text) };
}

interface PendingAttribute {
  readonly prefix: string;
  readonly localName: string;
  readonly value: string;
  readonly isNamespaceDeclaration: boolean;
  readonly start: number;
  readonly end: number;
}

/** Thrown internally to mark errors raised by the caller's handler, so they pass through unwrapped. */
class HandlerFailure {
  constructor(readonly error: unknown) {}
}

class Scanner {
  readonly #text: string;
  readonly #limits: XmlLimits;
  readonly #onToken: TokenHandler;
  #pos = 0;
  #stopped = false;
  #rootSeen = false;
  /** Open elements' qualified names, as written. */
  readonly #open: string[] = [];
  // Namespace bindings as parallel stacks (cheaper than a Map per element): the declarations
  // of open elements in document order, and how many each open element added.
  readonly #nsPrefixes: string[] = ['xml'];
  readonly #nsUris: string[] = [XML_NAMESPACE];
  readonly #nsCounts: number[] = [];

  constructor(text: string, limits: XmlLimits, onToken: TokenHandler) {
    this.#text = text;
    this.#limits = limits;
    this.#onToken = onToken;
  }

  /** Runs to the end of the document or until the handler stops it; returns whether complete. */
  run(): boolean {
    const text = this.#text;
    if (text.charCodeAt(0) === 0xfeff) this.#pos = 1;
    if (text.startsWith('<?xml', this.#pos) && /[ \t\r\n?]/.test(text.charAt(this.#pos + 5))) this.#xmlDeclaration();

    while (this.#pos < text.length) {
      if (this.#stopped) return false;
      if (text.charCodeAt(this.#pos) !== LT) {
        this.#charData();
        continue;
      }
      const next = text.charCodeAt(this.#pos + 1);
      if (next === SLASH) this.#endTag();
      else if (next === BANG) this.#bang();
      else if (next === QUESTION) this.#processingInstruction();
      else this.#startTag();
    }
    if (this.#stopped) return false;
    if (this.#open.length > 0) this.#fail(`unexpected end of input: <${this.#open[this.#open.length - 1]}> is not closed`, text.length);
    if (!this.#rootSeen) this.#fail('no root element', text.length);
    return true;
  }

  // ---- markup ------------------------------------------------------------------------------

  /** §2.8 XMLDecl: only at the very start; content is not needed (encoding comes from the BOM). */
  #xmlDeclaration(): void {
    const end = this.#text.indexOf('?>', this.#pos);
    if (end < 0) this.#fail('unterminated XML declaration', this.#pos);
    const decl = this.#text.slice(this.#pos + 5, end);
    this.#checkChars(decl, this.#pos + 5);
    if (!/^\s+version\s*=\s*(["'])1\.[0-9]+\1/.test(decl)) this.#fail('XML declaration without a version', this.#pos);
    this.#pos = end + 2;
  }

  /** `<!--`, `<![CDATA[`, or a refused markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...). */
  #bang(): void {
    const text = this.#text;
    const start = this.#pos;
    if (text.startsWith('<!--', start)) {
      const end = text.indexOf('-->', start + 4);
      if (end < 0) this.#fail('unterminated comment', start);
      const value = text.slice(start + 4, end);
      this.#checkChars(value, start + 4);
      // §2.5: '--' must not occur within comments, and a comment must not end with '-'.
      if (value.includes('--') || value.endsWith('-')) this.#fail("'--' inside a comment", start);
      this.#checkText(value.length, 'comment', start);
      this.#pos = end + 3;
      if (this.#open.length > 0) this.#emit({ kind: 'comment', value: normalizeLineEndings(value) }, start, this.#pos);
      return;
    }
    if (text.startsWith('<![CDATA[', start)) {
      if (this.#open.length === 0) this.#fail('CDATA section outside the root element', start);
      const end = text.indexOf(']]>', start + 9);
      if (end < 0) this.#fail('unterminated CDATA section', start);
      const raw = text.slice(start + 9, end);
      this.#checkChars(raw, start + 9);
      this.#checkText(raw.length, 'CDATA section', start);
      this.#pos = end + 3;
      this.#emit({ kind: 'text', value: normalizeLineEndings(raw), cdata: true }, start, this.#pos);
      return;
    }
    if (text.startsWith('<!DOCTYPE', start)) {
      this.#fail('DOCTYPE is not allowed: DTDs and entity declarations are refused (no entity expansion)', start);
    }
    this.#fail('markup declarations (<!...>) are not allowed', start);
  }

  /** §2.6 PI: skipped. `<?xml` is reserved and allowed only as the declaration at the start. */
  #processingInstruction(): void {
    const start = this.#pos;
    this.#pos += 2;
    const target = this.#name('processing instruction target');
    if (target.toLowerCase() === 'xml') this.#fail('XML declaration is allowed only at the start of the document', start);
    const end = this.#text.indexOf('?>', this.#pos);
    if (end < 0) this.#fail('unterminated processing instruction', start);
    const c = this.#text.charCodeAt(this.#pos);
    if (end !== this.#pos && !isWhitespace(c)) this.#fail('whitespace required after processing instruction target', this.#pos);
    this.#checkChars(this.#text.slice(this.#pos, end), this.#pos);
    this.#pos = end + 2;
  }

  /** §3.1 STag / EmptyElemTag, with the attributes and Namespaces 1.0 checks. */
  #startTag(): void {
    const text = this.#text;
    const start = this.#pos;
    if (this.#open.length === 0 && this.#rootSeen) this.#fail('content after the root element', start);
    const depth = this.#open.length + 1;
    if (depth > this.#limits.maxDepth) {
      this.#fail(`element nesting deeper than maxDepth ${this.#limits.maxDepth}`, start);
    }
    this.#pos++;
    const qname = this.#name('element name');
    const [prefix, localName] = this.#splitQName(qname, start);

    const attributes: PendingAttribute[] = [];
    let seen: Set<string> | undefined; // only built for elements with many attributes
    let selfClosing = false;
    for (;;) {
      const hadSpace = this.#skipWhitespace();
      const c = text.charCodeAt(this.#pos);
      if (c === GT) {
        this.#pos++;
        break;
      }
      if (c === SLASH && text.charCodeAt(this.#pos + 1) === GT) {
        this.#pos += 2;
        selfClosing = true;
        break;
      }
      if (this.#pos >= text.length) this.#fail(`unexpected end of input in start tag <${qname}>`, this.#pos);
      if (!hadSpace) this.#fail(`whitespace required before attribute in <${qname}>`, this.#pos);
      if (attributes.length >= this.#limits.maxAttributesPerElement) {
        this.#fail(`more than maxAttributesPerElement ${this.#limits.maxAttributesPerElement} attributes on <${qname}>`, this.#pos);
      }
      const attribute = this.#attribute(qname);
      if (attributes.length >= 8) {
        seen ??= new Set(attributes.map((a) => (a.prefix ? `${a.prefix}:${a.localName}` : a.localName)));
        if (seen.has(attribute.qname)) this.#fail(`duplicate attribute ${attribute.qname} on <${qname}>`, attribute.value.start);
        seen.add(attribute.qname);
      } else if (attributes.some((a) => a.localName === attribute.value.localName && a.prefix === attribute.value.prefix)) {
        this.#fail(`duplicate attribute ${attribute.qname} on <${qname}>`, attribute.value.start);
      }
      attributes.push(attribute.value);
    }
    const end = this.#pos;

    // Namespaces 1.0: declarations first, then every prefix must resolve.
    let declared = 0;
    for (const a of attributes) {
      if (!a.isNamespaceDeclaration) continue;
      if (a.prefix === 'xmlns') {
        if (a.localName === 'xmlns') this.#fail('the xmlns prefix must not be declared', a.start);
        if (a.value === '') this.#fail(`xmlns:${a.localName}="" is not allowed in XML Namespaces 1.0`, a.start);
        this.#nsPrefixes.push(a.localName);
      } else {
        this.#nsPrefixes.push('');
      }
      this.#nsUris.push(a.value);
      declared++;
    }
    if (prefix === 'xmlns') this.#fail(`element <${qname}> uses the reserved xmlns prefix`, start);
    const elementNs = this.#resolve(prefix, qname, start);
    this.#rootSeen = true;
    this.#open.push(qname);
    this.#nsCounts.push(declared);
    this.#emit({ kind: 'startElement', prefix, localName }, start, end, depth, elementNs);
    for (const a of attributes) {
      if (this.#stopped) return;
      let ns: string;
      if (a.isNamespaceDeclaration) ns = XMLNS_NAMESPACE;
      else if (a.prefix === '') ns = '';
      else ns = this.#resolve(a.prefix, `${a.prefix}:${a.localName}`, a.start);
      const token: AttributeToken = a.isNamespaceDeclaration
        ? { kind: 'attribute', prefix: a.prefix, localName: a.localName, value: a.value, isNamespaceDeclaration: true }
        : { kind: 'attribute', prefix: a.prefix, localName: a.localName, value: a.value };
      this.#emit(token, a.start, a.end, depth, ns);
    }
    if (selfClosing && !this.#stopped) this.#closeElement(end, end);
  }

  /** One `name = "value"` pair; the value has references decoded and whitespace normalised. */
  #attribute(elementQName: string): { qname: string; value: PendingAttribute } {
    const text = this.#text;
    const start = this.#pos;
    const qname = this.#name('attribute name');
    const [prefix, localName] = this.#splitQName(qname, start);
    this.#skipWhitespace();
    if (text.charCodeAt(this.#pos) !== EQUALS) this.#fail(`expected '=' after attribute ${qname} in <${elementQName}>`, this.#pos);
    this.#pos++;
    this.#skipWhitespace();
    const quote = text.charCodeAt(this.#pos);
    if (quote !== DQUOTE && quote !== SQUOTE) this.#fail(`attribute ${qname} value must be quoted`, this.#pos);
    const valueStart = this.#pos + 1;
    const valueEnd = text.indexOf(quote === DQUOTE ? '"' : "'", valueStart);
    if (valueEnd < 0) this.#fail(`unterminated value of attribute ${qname}`, this.#pos);
    const raw = text.slice(valueStart, valueEnd);
    const lt = raw.indexOf('<');
    if (lt >= 0) this.#fail(`'<' in value of attribute ${qname}`, valueStart + lt);
    this.#checkChars(raw, valueStart);
    this.#pos = valueEnd + 1;
    const value = this.#decodeReferences(raw, valueStart, true);
    this.#checkText(value.length, `value of attribute ${qname}`, valueStart);
    const isNamespaceDeclaration = prefix === 'xmlns' || (prefix === '' && localName === 'xmlns');
    return { qname, value: { prefix, localName, value, isNamespaceDeclaration, start, end: this.#pos } };
  }

  /** §3.1 ETag: must match the innermost open element exactly (prefix included). */
  #endTag(): void {
    const start = this.#pos;
    this.#pos += 2;
    const qname = this.#name('end tag name');
    this.#skipWhitespace();
    if (this.#text.charCodeAt(this.#pos) !== GT) this.#fail(`expected '>' to close end tag </${qname}>`, this.#pos);
    this.#pos++;
    const open = this.#open[this.#open.length - 1];
    if (open === undefined) this.#fail(`end tag </${qname}> without a start tag`, start);
    if (open !== qname) this.#fail(`end tag </${qname}> does not match start tag <${open}>`, start);
    this.#closeElement(start, this.#pos);
  }

  #closeElement(start: number, end: number): void {
    const depth = this.#open.length;
    this.#emit({ kind: 'endElement' }, start, end, depth);
    this.#open.pop();
    const declared = this.#nsCounts.pop() ?? 0;
    this.#nsPrefixes.length -= declared;
    this.#nsUris.length -= declared;
  }

  /** Character data up to the next '<'; outside the root only whitespace is allowed (and skipped). */
  #charData(): void {
    const text = this.#text;
    const start = this.#pos;
    let end = text.indexOf('<', start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    this.#pos = end;
    this.#checkChars(raw, start);
    if (this.#open.length === 0) {
      if (!WHITESPACE_ONLY_RE.test(raw)) this.#fail(this.#rootSeen ? 'text after the root element' : 'text before the root element', start);
      return;
    }
    // §2.4: ']]>' is not allowed in character data.
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd >= 0) this.#fail("']]>' in character data", start + cdataEnd);
    const value = this.#decodeReferences(raw, start, false);
    this.#checkText(value.length, 'text', start);
    this.#emit({ kind: 'text', value }, start, end);
  }

  // ---- pieces ------------------------------------------------------------------------------

  /**
   * Line endings normalised (§2.11), then, for attributes, literal whitespace -> space (§3.3.3),
   * then the five predefined entities and character references decoded (§4.1, §4.6).
   */
  #decodeReferences(raw: string, rawStart: number, attribute: boolean): string {
    let s = normalizeLineEndings(raw);
    if (attribute) s = s.replace(/[\t\n]/g, ' ');
    if (!s.includes('&')) return s;
    // Offsets in errors are approximate once line endings were normalised; that is fine.
    let out = '';
    let from = 0;
    for (;;) {
      const amp = s.indexOf('&', from);
      if (amp < 0) break;
      out += s.slice(from, amp);
      const semi = s.indexOf(';', amp + 1);
      if (semi < 0 || semi - amp - 1 > MAX_REFERENCE_CHARS) this.#fail("'&' not starting a reference (write &amp;)", rawStart + amp);
      const name = s.slice(amp + 1, semi);
      out += this.#reference(name, rawStart + amp);
      from = semi + 1;
    }
    return out + s.slice(from);
  }

  #reference(name: string, at: number): string {
    if (name.charCodeAt(0) === 0x23 /* # */) {
      const hex = name.charCodeAt(1) === 0x78; /* x */
      const digits = name.slice(hex ? 2 : 1);
      if (!(hex ? HEX_RE : DECIMAL_RE).test(digits)) this.#fail(`malformed character reference &${name};`, at);
      const cp = Number.parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(cp)) this.#fail(`character reference &${name}; is not an XML character`, at);
      return String.fromCodePoint(cp);
    }
    const value = PREDEFINED_ENTITIES.get(name);
    if (value === undefined) {
      this.#fail(`undefined entity &${name}; (only the five predefined entities exist without a DTD)`, at);
    }
    return value;
  }

  /** §2.3 Name at the current position, length-limited. */
  #name(what: string): string {
    const text = this.#text;
    // ASCII fast path; anything else goes through the full Unicode production.
    let end = this.#pos;
    let c = text.charCodeAt(end);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a) {
      do c = text.charCodeAt(++end);
      while ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x3a) || c === 0x5f || c === 0x2d || c === 0x2e);
    }
    let name: string;
    if (end > this.#pos && !(c >= 0x80)) {
      name = text.slice(this.#pos, end);
    } else {
      NAME_RE.lastIndex = this.#pos;
      const m = NAME_RE.exec(text);
      if (!m) this.#fail(this.#pos >= text.length ? `unexpected end of input, expected ${what}` : `invalid ${what}`, this.#pos);
      name = m[0];
    }
    if (name.length > this.#limits.maxNameChars) this.#fail(`${what} longer than maxNameChars ${this.#limits.maxNameChars}`, this.#pos);
    this.#pos += name.length;
    return name;
  }

  /** Namespaces 1.0 §3 QName: at most one colon, with non-empty prefix and local part. */
  #splitQName(qname: string, at: number): [string, string] {
    const colon = qname.indexOf(':');
    if (colon < 0) return ['', qname];
    if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) >= 0) {
      this.#fail(`${qname} is not a valid qualified name`, at);
    }
    return [qname.slice(0, colon), qname.slice(colon + 1)];
  }

  #resolve(prefix: string, qname: string, at: number): string {
    let uri: string | undefined = prefix === '' ? '' : undefined;
    for (let i = this.#nsPrefixes.length - 1; i >= 0; i--) {
      if (this.#nsPrefixes[i] === prefix) {
        uri = this.#nsUris[i]!;
        break;
      }
    }
    if (uri === undefined) this.#fail(`prefix ${prefix} of ${qname} is not declared`, at);
    return uri;
  }

  #skipWhitespace(): boolean {
    const start = this.#pos;
    while (isWhitespace(this.#text.charCodeAt(this.#pos))) this.#pos++;
    return this.#pos > start;
  }

  /**
   * §2.2 Char: checked per segment as it is consumed (names are checked by NAME_RE), so a scan
   * that stops early never looks at the rest of the input.
   */
  #checkChars(segment: string, at: number): void {
    if (!SUSPECT_CHAR_RE.test(segment)) return;
    const bad = INVALID_CHAR_RE.exec(segment);
    if (bad) this.#fail(`character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`, at + bad.index);
  }

  #checkText(length: number, what: string, at: number): void {
    if (length > this.#limits.maxTextChars) {
      const err = tooLarge(`${what} longer than maxTextChars ${this.#limits.maxTextChars} ${this.#where(at)}`);
      throw err;
    }
  }

  #emit(token: XmlToken, start: number, end: number, depth = this.#open.length, namespaceUri?: string): void {
    const info: TokenInfo = namespaceUri === undefined ? { start, end, depth } : { start, end, depth, namespaceUri };
    let result: boolean | void;
    try {
      result = this.#onToken(token, info);
    } catch (err) {
      throw new HandlerFailure(err);
    }
    if (result === false) this.#stopped = true;
  }

  #where(pos: number): string {
    let line = 1;
    let lineStart = 0;
    for (let i = this.#text.indexOf('\n'); i >= 0 && i < pos; i = this.#text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return `(line ${line}, column ${pos - lineStart + 1})`;
  }

  #fail(message: string, pos: number): never {
    throw invalid(`${message} ${this.#where(pos)}`);
  }
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function normalizeLineEndings(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

/**
 * Tokenizes `input`, calling `onToken` for each token in document order; stops early when it
 * returns false (the rest of the input is then not checked). Errors thrown by `onToken` pass
 * through unchanged; every problem with the input is a ProtocolError
 * (RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE for size limits, RELAY_ERR_PROTOCOL_INVALID_MESSAGE for the rest).
 *
 * @param input  a whole document; Buffers are decoded by BOM (UTF-8 default).
 * @param limits overrides of DEFAULT_XML_LIMITS (limits.ts).
 */
export function scanXml(input: string | Buffer, onToken: TokenHandler, limits?: Partial<XmlLimits>): ScanResult {
  const resolved = resolveXmlLimits(limits);
  const decoded = decodeInput(input, resolved);
  let complete: boolean;
  try {
    complete = new Scanner(decoded.text, resolved, onToken).run();
  } catch (err) {
    if (err instanceof HandlerFailure) throw err.error;
    if (err instanceof ProtocolError) throw err;
    // Defensive: any unforeseen failure on hostile input is still a protocol error.
    throw invalid(err instanceof Error ? err.message : String(err), err);
  }
  return { text: decoded.text, complete, byteOffset: decoded.byteOffset };
}

/**
 * Tokenizes a whole document into an array (see scanXml for the rules).
 * Throws ProtocolError for every malformation or exceeded limit.
 */
export function parseXml(input: string | Buffer, limits?: Partial<XmlLimits>): XmlToken[] {
  const tokens: XmlToken[] = [];
  scanXml(input, (t) => {
    tokens.push(t);
  }, limits);
  return tokens;
}
