/**
 * Typed operation arguments from a WSDL's XML Schema (its inline `wsdl:types`): the plain values
 * read from an envelope (text, objects of children, arrays for repeats, null for xsi:nil) become
 * numbers, booleans, Dates and Buffers where the schema says so, and repeatable elements become
 * arrays even when only one came. What the schema does not describe is left as it came.
 *
 * The XSD subset is the one document/literal services publish (WCF's DataContract schemas,
 * node-soap and JAX-WS WSDLs): global and local `element` (with `type`, `ref` or an inline type),
 * named and anonymous `complexType` with `sequence`/`all`/`choice` (nested), `complexContent`
 * `extension` (inherited fields), `simpleContent`, and `simpleType` restrictions (by their base).
 * Attributes are not values here.
 *
 * Conversions (XML Schema Part 2 lexical forms):
 *   integer types (int, long, short, byte, unsigned*, *Integer)  number when a safe integer, else the text
 *   float, double                                               number (INF, -INF, NaN included)
 *   boolean                                                     true / false ("1" / "0" too)
 *   dateTime                                                    Date (when it parses)
 *   base64Binary                                                Buffer
 *   decimal and everything else                                 the text (no silent rounding)
 */
import { childrenNamed, getAttribute, parseXmlTree, type XmlElement } from '../../protocol/xml/tree';
import { MAX_WSDL_BYTES, qnameAttribute, qnameKey as key, WSDL_NS, type QName } from '../../protocol/soap/wsdl-info';

export const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

export type XsdType = { readonly kind: 'simple'; readonly base: string } | { readonly kind: 'complex'; readonly fields: ReadonlyMap<string, XsdField> };

export interface XsdField {
  /** The field's type (resolved on first use: schemas may be recursive). */
  readonly type: () => XsdType | undefined;
  /** maxOccurs above 1 (here or on an enclosing group): always an array. */
  readonly many: boolean;
}

export interface XsdSchema {
  /** The type of a global element, e.g. an operation's wrapper element. */
  elementType(name: QName): XsdType | undefined;
}

function xsdChildren(el: XmlElement, ...names: string[]): XmlElement[] {
  return childrenNamed(el, XSD_NS, ...names);
}

function repeats(el: XmlElement): boolean {
  const max = getAttribute(el, 'maxOccurs');
  return max !== undefined && (max.trim() === 'unbounded' || Number(max) > 1);
}

const STRING: XsdType = { kind: 'simple', base: 'string' };

/** Reads the inline schemas of WSDL documents (or of bare xs:schema documents). */
export function readXsdSchema(documents: readonly (string | Buffer)[]): XsdSchema {
  const elements = new Map<string, XmlElement>();
  const complexTypes = new Map<string, XmlElement>();
  const simpleTypes = new Map<string, XmlElement>();
  for (const doc of documents) {
    const root = parseXmlTree(doc, { maxInputBytes: MAX_WSDL_BYTES });
    const schemas =
      root.namespaceUri === XSD_NS && root.localName === 'schema'
        ? [root]
        : childrenNamed(root, WSDL_NS, 'types').flatMap((t) => xsdChildren(t, 'schema'));
    for (const schema of schemas) {
      const tns = getAttribute(schema, 'targetNamespace') ?? '';
      for (const c of xsdChildren(schema, 'element', 'complexType', 'simpleType')) {
        const name = getAttribute(c, 'name');
        if (name === undefined) continue;
        const map = c.localName === 'element' ? elements : c.localName === 'complexType' ? complexTypes : simpleTypes;
        const k = key({ namespaceUri: tns, localName: name });
        if (!map.has(k)) map.set(k, c);
      }
    }
  }

  const memo = new Map<XmlElement, XsdType>();
  const named = (q: QName, depth: number): XsdType | undefined => {
    if (q.namespaceUri === XSD_NS) return { kind: 'simple', base: q.localName };
    const ct = complexTypes.get(key(q));
    if (ct) return complex(ct, depth);
    const st = simpleTypes.get(key(q));
    return st ? simple(st, depth) : undefined;
  };
  const simple = (st: XmlElement, depth: number): XsdType => {
    if (depth > 32) return STRING;
    const restriction = xsdChildren(st, 'restriction')[0];
    const base = restriction && qnameAttribute(restriction, 'base');
    if (base) return named(base, depth + 1) ?? STRING;
    const inner = restriction && xsdChildren(restriction, 'simpleType')[0];
    return inner ? simple(inner, depth + 1) : STRING; // list, union: text
  };
  const complex = (ct: XmlElement, depth: number): XsdType => {
    const known = memo.get(ct);
    if (known) return known;
    const fields = new Map<string, XsdField>();
    const type: XsdType = { kind: 'complex', fields };
    memo.set(ct, type); // before the fields: recursive types refer back to it
    const particles = (group: XmlElement, many: boolean): void => {
      for (const c of xsdChildren(group, 'element', 'sequence', 'all', 'choice')) {
        if (c.localName !== 'element') {
          particles(c, many || repeats(c));
          continue;
        }
        const ref = qnameAttribute(c, 'ref');
        const decl = ref ? elements.get(key(ref)) : c;
        const name = ref ? ref.localName : getAttribute(c, 'name');
        if (!decl || name === undefined) continue;
        let resolved: XsdType | undefined | null = null;
        fields.set(name, {
          many: many || repeats(c),
          type: () => (resolved === null ? (resolved = elementDecl(decl, depth + 1)) : resolved),
        });
      }
    };
    const content = xsdChildren(ct, 'complexContent', 'simpleContent')[0];
    if (content?.localName === 'simpleContent') {
      const derivation = xsdChildren(content, 'extension', 'restriction')[0];
      const base = derivation && qnameAttribute(derivation, 'base');
      const t = (base && named(base, depth + 1)) ?? STRING;
      memo.set(ct, t);
      return t;
    }
    const derivation = content ? xsdChildren(content, 'extension', 'restriction')[0] : undefined;
    const base = derivation?.localName === 'extension' ? qnameAttribute(derivation, 'base') : undefined;
    const inherited = base && depth < 32 ? named(base, depth + 1) : undefined;
    if (inherited?.kind === 'complex') for (const [n, f] of inherited.fields) fields.set(n, f);
    particles(derivation ?? ct, false);
    return type;
  };
  const elementDecl = (decl: XmlElement, depth: number): XsdType | undefined => {
    if (depth > 64) return undefined;
    const type = qnameAttribute(decl, 'type');
    if (type) return named(type, depth);
    const inlineComplex = xsdChildren(decl, 'complexType')[0];
    if (inlineComplex) return complex(inlineComplex, depth);
    const inlineSimple = xsdChildren(decl, 'simpleType')[0];
    return inlineSimple ? simple(inlineSimple, depth) : undefined;
  };
  return {
    elementType: (name) => {
      const decl = elements.get(key(name));
      return decl ? elementDecl(decl, 0) : undefined;
    },
  };
}

const INTEGER_TYPES = new Set([
  'int', 'integer', 'long', 'short', 'byte', 'unsignedInt', 'unsignedLong', 'unsignedShort', 'unsignedByte',
  'nonNegativeInteger', 'positiveInteger', 'negativeInteger', 'nonPositiveInteger',
]);

function simpleValue(base: string, text: string): unknown {
  const t = text.trim();
  if (INTEGER_TYPES.has(base)) {
    const n = Number(t);
    return /^[+-]?\d+$/.test(t) && Number.isSafeInteger(n) ? n : text;
  }
  if (base === 'double' || base === 'float') {
    if (t === 'INF') return Infinity;
    if (t === '-INF') return -Infinity;
    if (t === 'NaN') return NaN;
    const n = Number(t);
    return t !== '' && Number.isFinite(n) ? n : text;
  }
  if (base === 'boolean') return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : text;
  if (base === 'dateTime') {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? text : d;
  }
  if (base === 'base64Binary') return Buffer.from(t, 'base64');
  return text;
}

/** `value` (as read from XML: text, object, array, null) typed by `type`; undescribed parts stay as they are. */
export function typedValue(type: XsdType | undefined, value: unknown): unknown {
  if (type === undefined || value === null || value === undefined) return value;
  if (type.kind === 'simple') return typeof value === 'string' ? simpleValue(type.base, value) : value;
  if (typeof value === 'string') return value.trim() === '' ? {} : value; // an empty complex element
  if (typeof value !== 'object' || Array.isArray(value)) return value;
  // fromEntries defines own properties: a field named __proto__ stays data.
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([name, v]) => {
      const field = type.fields.get(name);
      if (!field) return [name, v];
      const fieldType = field.type();
      if (field.many) return [name, (Array.isArray(v) ? v : [v]).map((item) => typedValue(fieldType, item))];
      return [name, Array.isArray(v) ? v.map((item) => typedValue(fieldType, item)) : typedValue(fieldType, v)];
    }),
  );
}
