import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../../../../src/core/errors';
import { parseXml } from '../../../../src/protocol/xml/text-reader';
import { escapeAttribute, escapeText, writeXml } from '../../../../src/protocol/xml/text-writer';
import type { XmlToken } from '../../../../src/protocol/xml/tokens';

const SOAP_FIXTURES = join(__dirname, '../../../fixtures/soap');

describe('writeXml', () => {
  it('writes elements, attributes and text, self-closing empty elements by default', () => {
    const tokens: XmlToken[] = [
      { kind: 'startElement', prefix: 's', localName: 'E' },
      { kind: 'attribute', prefix: 'xmlns', localName: 's', value: 'urn:s', isNamespaceDeclaration: true },
      { kind: 'startElement', prefix: '', localName: 'x' },
      { kind: 'endElement' },
      { kind: 'text', value: 'a<b>&c' },
      { kind: 'comment', value: ' note ' },
      { kind: 'endElement' },
    ];
    expect(writeXml(tokens)).toBe('<s:E xmlns:s="urn:s"><x/>a&lt;b&gt;&amp;c<!-- note --></s:E>');
    expect(writeXml(tokens, { selfClose: false })).toBe('<s:E xmlns:s="urn:s"><x></x>a&lt;b&gt;&amp;c<!-- note --></s:E>');
  });

  it('escapes attribute values in one place: & < " and TAB LF CR as character references', () => {
    expect(escapeAttribute('a&b<c>"d\'\te\nf\rg')).toBe('a&amp;b&lt;c>&quot;d\'&#x9;e&#xA;f&#xD;g');
    expect(escapeText('a&b<c>"d\r')).toBe('a&amp;b&lt;c&gt;"d&#xD;');
  });

  it('re-emits CDATA, splitting "]]>"', () => {
    const out = writeXml([
      { kind: 'startElement', prefix: '', localName: 'a' },
      { kind: 'text', value: 'x]]>y', cdata: true },
      { kind: 'endElement' },
    ]);
    expect(out).toBe('<a><![CDATA[x]]]]><![CDATA[>y]]></a>');
    expect(parseXml(out).filter((t) => t.kind === 'text').map((t) => (t as { value: string }).value).join('')).toBe('x]]>y');
  });

  it('rejects sequences that cannot be written', () => {
    const a = { kind: 'startElement', prefix: '', localName: 'a' } as const;
    expect(() => writeXml([a])).toThrow(ProtocolError);
    expect(() => writeXml([{ kind: 'endElement' }])).toThrow(/without an open element/);
    expect(() => writeXml([a, { kind: 'text', value: 'x' }, { kind: 'attribute', prefix: '', localName: 'b', value: '' }, { kind: 'endElement' }])).toThrow(/does not follow/);
    expect(() => writeXml([a, { kind: 'comment', value: 'a--b' }, { kind: 'endElement' }])).toThrow(/'--'/);
  });

  it('round-trips every captured Mono envelope to the same tokens (and to the same bytes after the declaration)', () => {
    for (const dir of readdirSync(SOAP_FIXTURES).filter((d) => d.startsWith('mono-'))) {
      const xml = readFileSync(join(SOAP_FIXTURES, dir, 'request.xml'), 'utf8');
      const tokens = parseXml(xml);
      const written = writeXml(tokens, { selfClose: false });
      expect(parseXml(written)).toEqual(tokens);
      // Mono writes `<x />`; apart from that and the declaration, the bytes are identical.
      const expected = xml.replace(/^<\?xml[^>]*\?>/, '').replace(/<([\w:.-]+)([^<>]*?) \/>/g, '<$1$2></$1>');
      expect(written).toBe(expected);
    }
  });
});

// ---- properties ------------------------------------------------------------------------------

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
const anyText = fc.string({ unit: 'grapheme', maxLength: 20 });
/** Random well-formed token trees (no namespaces: unprefixed names only). */
const element: fc.Memo<XmlToken[]> = fc.memo((depth) => {
  const child = depth <= 1
    ? anyText.map((v): XmlToken[] => [{ kind: 'text', value: v }])
    : fc.oneof(anyText.map((v): XmlToken[] => [{ kind: 'text', value: v }]), element(depth - 1));
  return fc.tuple(name, fc.uniqueArray(fc.tuple(name, anyText), { selector: ([n]) => n, maxLength: 3 }), fc.array(child, { maxLength: 4 }))
    .map(([n, attrs, children]) => [
      { kind: 'startElement', prefix: '', localName: n } as XmlToken,
      ...attrs.map(([an, av]): XmlToken => ({ kind: 'attribute', prefix: '', localName: an, value: av })),
      ...children.flat(),
      { kind: 'endElement' } as XmlToken,
    ]);
});

/** Adjacent text tokens merge when re-read, and empty ones vanish: compare on that normal form. */
function normalize(tokens: XmlToken[]): XmlToken[] {
  const out: XmlToken[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (t.kind === 'text') {
      if (t.value === '') continue;
      if (last?.kind === 'text') {
        out[out.length - 1] = { kind: 'text', value: last.value + t.value };
        continue;
      }
      out.push({ kind: 'text', value: t.value });
    } else {
      out.push(t);
    }
  }
  return out;
}

describe('properties', () => {
  it('arbitrary strings give tokens or a ProtocolError, never another exception', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      try {
        parseXml(s);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }), { numRuns: 2000 });
  });

  it('arbitrary bytes give tokens or a ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        parseXml(Buffer.from(bytes));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
      }
    }), { numRuns: 2000 });
  });

  it('XML-ish strings built from markup fragments give tokens or a ProtocolError, and re-writing is stable', () => {
    const fragment = fc.constantFrom('<a>', '</a>', '<b x="1">', '</b>', '<c/>', '&amp;', '&#x41;', '&bad;', '<!--c-->', '<![CDATA[z]]>',
      '<?p q?>', 'text', ' ', '\r\n', '<!DOCTYPE a>', '<p:a xmlns:p="u">', '</p:a>', '"', "'", '>', '<', '&');
    fc.assert(fc.property(fc.array(fragment, { maxLength: 12 }), (parts) => {
      let tokens: XmlToken[];
      try {
        tokens = parseXml(parts.join(''));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return;
      }
      const once = writeXml(tokens);
      expect(writeXml(parseXml(once))).toBe(once);
    }), { numRuns: 3000 });
  });

  it('writeXml(parseXml(x)) is stable and parseXml(writeXml(tokens)) gives the tokens back', () => {
    fc.assert(fc.property(element(3), (tokens) => {
      const valid = tokens.every((t) => t.kind !== 'text' && t.kind !== 'attribute' ? true : !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(t.value));
      fc.pre(valid);
      const xml = writeXml(tokens);
      const reread = parseXml(xml);
      expect(reread).toEqual(normalize(tokens));
      expect(writeXml(reread)).toBe(xml);
    }), { numRuns: 1000 });
  });
});
