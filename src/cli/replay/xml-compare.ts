/**
 * Compares two SOAP messages the way a migration test needs: as XML infosets, not bytes.
 * Prefixes, namespace declarations, attribute order, comments and whitespace-only text do not
 * matter; QName values (`a:DivideByZero`) compare by namespace URI; per-call values are masked:
 * ignored elements and attributes are dropped on both sides (MessageID, RelatesTo, timestamps by
 * default), and values matching ignore patterns (GUIDs, ISO 8601 date-times) become placeholders.
 * The result is a line diff of the canonical forms.
 */
import { type XmlElement, lookupNamespace, parseXmlTree } from '../../protocol/xml/tree';

export interface CompareOptions {
  /**
   * Elements and attributes to drop on both sides: `Local`, `{ns}Local`, `@attr` or `@{ns}attr`.
   * An element name drops the element with its content.
   */
  readonly ignore: readonly string[];
  /** Regular expressions (source text); matches in text and attribute values are masked. */
  readonly ignoreValues: readonly string[];
  /**
   * Elements (`Local` or `{ns}Local`) whose child elements may come in any order (a contract's
   * collection whose order carries no meaning): their children are compared as a sorted set.
   */
  readonly unordered?: readonly string[];
}

export const DEFAULT_IGNORE: readonly string[] = [
  '{http://www.w3.org/2005/08/addressing}MessageID',
  '{http://www.w3.org/2005/08/addressing}RelatesTo',
  '{http://schemas.xmlsoap.org/ws/2004/08/addressing}MessageID',
  '{http://schemas.xmlsoap.org/ws/2004/08/addressing}RelatesTo',
  '{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Timestamp',
];

export const DEFAULT_IGNORE_VALUES: readonly string[] = [
  // GUIDs (urn:uuid:…, DataContract Guid members, correlation ids).
  '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
  // ISO 8601 date-times (xs:dateTime), with optional fraction and zone.
  '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?(?:Z|[+-]\\d{2}:\\d{2})?',
];

const SOAP_ENVELOPE_NS = new Set(['http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope']);

interface Matcher {
  readonly attribute: boolean;
  readonly ns: string | undefined;
  readonly local: string;
}

function parseMatcher(spec: string): Matcher {
  let s = spec.trim();
  const attribute = s.startsWith('@');
  if (attribute) s = s.slice(1);
  const m = /^\{([^}]*)\}(.+)$/.exec(s);
  if (m) return { attribute, ns: m[1], local: m[2]! };
  // xml:lang style names: the xml prefix is fixed.
  if (s.startsWith('xml:')) return { attribute, ns: 'http://www.w3.org/XML/1998/namespace', local: s.slice(4) };
  return { attribute, ns: undefined, local: s };
}

const matches = (m: Matcher, ns: string, local: string) => m.local === local && (m.ns === undefined || m.ns === ns);

/** Canonical, indented lines of a message (ProtocolError when it is not well-formed XML). */
export function canonicalLines(xml: Buffer | string, options: CompareOptions): string[] {
  const matchers = options.ignore.map(parseMatcher);
  const elementIgnores = matchers.filter((m) => !m.attribute);
  const attributeIgnores = matchers.filter((m) => m.attribute);
  const unordered = (options.unordered ?? []).map(parseMatcher);
  const masks = options.ignoreValues.map((v) => new RegExp(v, 'g'));
  const mask = (text: string) => masks.reduce((t, re, i) => t.replace(re, `{ignored:${i}}`), text);
  const root = parseXmlTree(xml, { maxInputBytes: 64 * 1024 * 1024, maxTextChars: 64 * 1024 * 1024 });

  const qnameText = (el: XmlElement, text: string): string => {
    const m = /^([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)$/.exec(text);
    if (!m) return text;
    const ns = lookupNamespace(el, m[1]!);
    return ns ? `{${ns}}${m[2]}` : text;
  };

  const walk = (el: XmlElement, depth: number, lines: string[]): void => {
    const pad = '  '.repeat(depth);
    const attrs = el.attributes
      .filter((a) => !a.isNamespaceDeclaration)
      .map((a) => ({ ns: a.prefix ? (lookupNamespace(el, a.prefix) ?? a.prefix) : '', local: a.localName, value: a.value }))
      .filter((a) => !attributeIgnores.some((m) => matches(m, a.ns, a.local)))
      .map((a) => `${a.ns ? `{${a.ns}}` : ''}${a.local}="${mask(a.value)}"`)
      .sort();
    const kids = el.children.filter((c) => c.kind === 'element' || (c.kind === 'text' && c.value.trim() !== ''));
    const name = `${el.namespaceUri ? `{${el.namespaceUri}}` : ''}${el.localName}`;
    const head = `${pad}<${name}${attrs.length ? ` ${attrs.join(' ')}` : ''}>`;
    const ignored = (c: XmlElement) => elementIgnores.some((m) => matches(m, c.namespaceUri, c.localName));
    // A SOAP Header left empty by the ignore rules is the same as no Header.
    const emptyHeader = (c: XmlElement) =>
      c.localName === 'Header' && SOAP_ENVELOPE_NS.has(c.namespaceUri) && c.children.every((k) => (k.kind === 'element' ? ignored(k) : k.kind !== 'text' || k.value.trim() === ''));
    const elementKids = kids.filter((c): c is XmlElement => c.kind === 'element').filter((c) => !ignored(c) && !emptyHeader(c));
    const textKids = kids.filter((c) => c.kind === 'text');
    if (elementKids.length === 0) {
      const text = textKids.map((t) => (t.kind === 'text' ? t.value : '')).join('').trim();
      lines.push(text ? `${head}${mask(qnameText(el, text))}` : head);
      return;
    }
    lines.push(head);
    if (unordered.some((m) => matches(m, el.namespaceUri, el.localName))) {
      // Each child's lines as one block; the blocks sorted (text children first, as they are).
      for (const t of textKids) lines.push(`${pad}  ${mask(t.kind === 'text' ? t.value.trim() : '')}`);
      const blocks = elementKids.map((c) => {
        const own: string[] = [];
        walk(c, depth + 1, own);
        return own;
      });
      blocks.sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : a.join('\n') > b.join('\n') ? 1 : 0));
      for (const b of blocks) lines.push(...b);
      return;
    }
    for (const c of kids) {
      if (c.kind === 'text') lines.push(`${pad}  ${mask(c.value.trim())}`);
      else if (elementKids.includes(c as XmlElement)) walk(c as XmlElement, depth + 1, lines);
    }
  };
  const lines: string[] = [];
  walk(root, 0, lines);
  return lines;
}

export interface LineDiff {
  readonly equal: boolean;
  /** Unified-style hunks: ' ' context, '-' expected only, '+' actual only. */
  readonly lines: readonly string[];
}

const MAX_DIFF_CELLS = 4_000_000;

/** Line diff (LCS) with `context` lines around each change. */
export function diffLines(expected: readonly string[], actual: readonly string[], context = 2): LineDiff {
  if (expected.length === actual.length && expected.every((l, i) => l === actual[i])) return { equal: true, lines: [] };
  const n = expected.length;
  const m = actual.length;
  let ops: Array<[' ' | '-' | '+', string]>;
  if (n * m > MAX_DIFF_CELLS) {
    ops = [...expected.map((l): [' ' | '-' | '+', string] => ['-', l]), ...actual.map((l): [' ' | '-' | '+', string] => ['+', l])];
  } else {
    const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) lcs[i]![j] = expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
    ops = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && expected[i] === actual[j]) ops.push([' ', expected[i++]!]), j++;
      else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push(['-', expected[i++]!]);
      else ops.push(['+', actual[j++]!]);
    }
  }
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach(([op], k) => {
    if (op === ' ') return;
    for (let c = Math.max(0, k - context); c <= Math.min(ops.length - 1, k + context); c++) keep[c] = true;
  });
  const lines: string[] = [];
  let skipped = false;
  ops.forEach(([op, text], k) => {
    if (!keep[k]) {
      skipped = true;
      return;
    }
    if (skipped && lines.length) lines.push('  …');
    skipped = false;
    lines.push(`${op} ${text}`);
  });
  return { equal: false, lines };
}
