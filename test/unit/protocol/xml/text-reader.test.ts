import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProtocolError } from '../../../../src/core/errors';
import { parseXml, scanXml, type TokenInfo } from '../../../../src/protocol/xml/text-reader';
import type { XmlToken } from '../../../../src/protocol/xml/tokens';

const SOAP_FIXTURES = join(__dirname, '../../../fixtures/soap');

function expectProtocolError(fn: () => unknown, message: RegExp, code = 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE'): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe(code);
  expect((caught as ProtocolError).message).toMatch(message);
}

describe('parseXml: tokens', () => {
  it('tokenizes elements, attributes, namespace declarations and text, keeping prefixes', () => {
    const tokens = parseXml('<s:Envelope xmlns:s="urn:s" xmlns="urn:d"><s:Body a="1"><x>hi</x></s:Body></s:Envelope>');
    expect(tokens).toEqual([
      { kind: 'startElement', prefix: 's', localName: 'Envelope' },
      { kind: 'attribute', prefix: 'xmlns', localName: 's', value: 'urn:s', isNamespaceDeclaration: true },
      { kind: 'attribute', prefix: '', localName: 'xmlns', value: 'urn:d', isNamespaceDeclaration: true },
      { kind: 'startElement', prefix: 's', localName: 'Body' },
      { kind: 'attribute', prefix: '', localName: 'a', value: '1' },
      { kind: 'startElement', prefix: '', localName: 'x' },
      { kind: 'text', value: 'hi' },
      { kind: 'endElement' },
      { kind: 'endElement' },
      { kind: 'endElement' },
    ]);
  });

  it('decodes the five predefined entities and character references', () => {
    const [, text] = parseXml('<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;</a>');
    expect(text).toEqual({ kind: 'text', value: '<>&"\'AB\u{1F600}' });
  });

  it('reports CDATA as text with cdata: true, without decoding it', () => {
    expect(parseXml('<a><![CDATA[<b>&amp;]]></a>')[1]).toEqual({ kind: 'text', value: '<b>&amp;', cdata: true });
  });

  it('gives <a/> and <a></a> the same tokens', () => {
    expect(parseXml('<r><a/></r>')).toEqual(parseXml('<r><a></a></r>'));
  });

  it('skips the XML declaration, processing instructions, BOM and comments outside the root', () => {
    const tokens = parseXml('\uFEFF<?xml version="1.0" encoding="utf-8"?>\n<!-- pre --><?pi data?>\n<a><?x y?><!-- in --></a>\n<!-- post -->\n');
    expect(tokens).toEqual([
      { kind: 'startElement', prefix: '', localName: 'a' },
      { kind: 'comment', value: ' in ' },
      { kind: 'endElement' },
    ]);
  });

  it('normalizes line endings in text and whitespace in attribute values (character references kept)', () => {
    const tokens = parseXml('<a b="x\ty\r\nz&#xA;">1\r\n2\r3&#xD;</a>');
    expect(tokens[1]).toMatchObject({ value: 'x y z\n' });
    expect(tokens[2]).toEqual({ kind: 'text', value: '1\n2\n3\r' });
  });

  it('accepts single-quoted attributes and whitespace around =', () => {
    expect(parseXml("<a b = 'q\"'/>")[1]).toMatchObject({ localName: 'b', value: 'q"' });
  });

  it('decodes UTF-8 Buffers (with and without BOM) and UTF-16 with a BOM', () => {
    const xml = '<a>héllo 世界 \u{1F600}</a>';
    const expected = parseXml(xml);
    expect(parseXml(Buffer.from(xml, 'utf8'))).toEqual(expected);
    expect(parseXml(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]))).toEqual(expected);
    expect(parseXml(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]))).toEqual(expected);
    expect(parseXml(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(xml, 'utf16le').swap16()]))).toEqual(expected);
  });

  it('parses every captured Mono envelope', () => {
    const cases = readdirSync(SOAP_FIXTURES).filter((d) => d.startsWith('mono-'));
    expect(cases.length).toBeGreaterThanOrEqual(14);
    for (const dir of cases) {
      for (const file of ['request.xml', 'response.xml']) {
        let body: Buffer;
        try {
          body = readFileSync(join(SOAP_FIXTURES, dir, file));
        } catch {
          continue; // one-way responses have no body
        }
        const tokens = parseXml(body);
        expect(tokens[0]).toMatchObject({ kind: 'startElement', localName: 'Envelope' });
      }
    }
  });
});

describe('scanXml: positions, namespaces and early stop', () => {
  const doc = '<?xml version="1.0"?><s:E xmlns:s="urn:s"><s:H><h>v</h></s:H><s:B>big<x/></s:B></s:E>';

  it('reports spans, depth and resolved namespaces', () => {
    const seen: Array<[XmlToken, TokenInfo]> = [];
    scanXml(doc, (t, info) => {
      seen.push([t, info]);
    });
    const [first, decl] = seen;
    expect(first![1]).toEqual({ start: 21, end: 42, depth: 1, namespaceUri: 'urn:s' });
    expect(doc.slice(first![1].start, first![1].end)).toBe('<s:E xmlns:s="urn:s">');
    expect(doc.slice(decl![1].start, decl![1].end)).toBe('xmlns:s="urn:s"');
    expect(decl![1].namespaceUri).toBe('http://www.w3.org/2000/xmlns/');
    const h = seen.find(([t]) => t.kind === 'startElement' && t.localName === 'h')!;
    expect(h[1]).toMatchObject({ depth: 3, namespaceUri: '' });
    const xEnd = seen.filter(([t]) => t.kind === 'endElement')[2]!;
    expect(xEnd[1].start).toBe(xEnd[1].end); // <x/> closes with an empty span
  });

  it('stops when the handler returns false, leaving the rest unchecked', () => {
    const broken = '<s:E xmlns:s="urn:s"><s:B>this is never <looked at';
    const kinds: string[] = [];
    const result = scanXml(broken, (t) => {
      kinds.push(t.kind);
      return !(t.kind === 'startElement' && t.localName === 'B');
    });
    expect(result.complete).toBe(false);
    expect(kinds).toEqual(['startElement', 'attribute', 'startElement']);
  });

  it('maps character offsets to byte offsets of the input', () => {
    const xml = '<a>é世\u{1F600}<b/></a>';
    let bStart = -1;
    const result = scanXml(Buffer.from(xml), (t, info) => {
      if (t.kind === 'startElement' && t.localName === 'b') bStart = info.start;
    });
    expect(result.byteOffset(bStart)).toBe(Buffer.from(xml).indexOf('<b/>'));
    expect(result.byteOffset(result.text.length)).toBe(Buffer.byteLength(xml));
  });

  it('passes handler errors through unchanged', () => {
    const boom = new TypeError('boom');
    expect(() => scanXml('<a/>', () => {
      throw boom;
    })).toThrow(boom);
  });
});

describe('parseXml: malformed input is a ProtocolError', () => {
  it.each([
    ['empty input', '', /no root element/],
    ['not XML', 'hello world', /text before the root element/],
    ['JSON', '{"a":1}', /text before the root element/],
    ['unclosed element', '<a><b></b>', /<a> is not closed/],
    ['mismatched end tag', '<a></b>', /does not match/],
    ['end tag without start', '</a>', /without a start tag/],
    ['two roots', '<a/><b/>', /content after the root element/],
    ['text after root', '<a/>x', /text after the root element/],
    ['unquoted attribute', '<a b=1/>', /must be quoted/],
    ['attribute without value', '<a b/>', /expected '='/],
    ['duplicate attribute', '<a b="1" b="2"/>', /duplicate attribute b/],
    ['no space between attributes', '<a b="1"c="2"/>', /whitespace required/],
    ['< in attribute', '<a b="<"/>', /'<' in value/],
    ['bare ampersand', '<a>fish & chips</a>', /'&' not starting a reference/],
    ['undefined entity', '<a>&nbsp;</a>', /undefined entity &nbsp;/],
    ['prototype entity name', '<a>&constructor;</a>', /undefined entity/],
    ['char ref to NUL', '<a>&#0;</a>', /not an XML character/],
    ['char ref beyond Unicode', '<a>&#x110000;</a>', /malformed character reference|not an XML character/],
    ['malformed char ref', '<a>&#xZZ;</a>', /malformed character reference/],
    ['control character', '<a>\u0001</a>', /U\+0001 is not allowed/],
    ['lone surrogate', '<a>\uD800</a>', /U\+D800 is not allowed/],
    [']]> in text', '<a>]]></a>', /']]>' in character data/],
    ['-- in comment', '<a><!-- a -- b --></a>', /'--' inside a comment/],
    ['unterminated comment', '<a><!-- x', /unterminated comment/],
    ['unterminated CDATA', '<a><![CDATA[x', /unterminated CDATA/],
    ['CDATA outside root', '<![CDATA[x]]><a/>', /CDATA section outside/],
    ['misplaced XML declaration', '<a/><?xml version="1.0"?>', /XML declaration is allowed only at the start/],
    ['XML declaration without version', '<?xml encoding="utf-8"?><a/>', /without a version/],
    ['undeclared element prefix', '<p:a/>', /prefix p of p:a is not declared/],
    ['undeclared attribute prefix', '<a p:b="1"/>', /prefix p of p:b is not declared/],
    ['empty prefixed namespace', '<p:a xmlns:p=""/>', /xmlns:p="" is not allowed/],
    ['two colons', '<a:b:c xmlns:a="u"/>', /not a valid qualified name/],
    ['invalid name start', '<1a/>', /invalid element name/],
    ['truncated start tag', '<a b="1"', /unexpected end of input|unterminated/],
    ['markup declaration', '<!ELEMENT a ANY><a/>', /markup declarations/],
  ])('%s', (_name, input, message) => {
    expectProtocolError(() => parseXml(input), message);
  });

  it('rejects invalid UTF-8', () => {
    expectProtocolError(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e])), /not valid UTF-8/);
  });

  it('reports line and column', () => {
    expectProtocolError(() => parseXml('<a>\n  <b>\n</a>'), /line 3, column 1/);
  });
});

describe('parseXml: XML bombs and limits', () => {
  it('refuses a billion-laughs document at the DOCTYPE, before any expansion', () => {
    const lol = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n' +
      Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('\n') +
      '\n]>\n<lolz>&lol9;</lolz>';
    expectProtocolError(() => parseXml(lol), /DOCTYPE is not allowed/);
  });

  it('refuses external entities (XXE) at the DOCTYPE', () => {
    expectProtocolError(() => parseXml('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'), /DOCTYPE is not allowed/);
  });

  it('refuses a DOCTYPE even without an internal subset', () => {
    expectProtocolError(() => parseXml('<!DOCTYPE a SYSTEM "a.dtd"><a/>'), /DOCTYPE/);
  });

  it('limits nesting depth (default 128)', () => {
    const deep = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(() => parseXml(deep(128))).not.toThrow();
    expectProtocolError(() => parseXml(deep(129)), /deeper than maxDepth 128/);
    expectProtocolError(() => parseXml(deep(100_000)), /deeper than maxDepth/);
    expectProtocolError(() => parseXml(deep(5), { maxDepth: 4 }), /maxDepth 4/);
  });

  it('limits input size in bytes, for strings and Buffers', () => {
    const big = `<a>${'x'.repeat(100)}</a>`;
    expectProtocolError(() => parseXml(big, { maxInputBytes: 64 }), /larger than maxInputBytes 64/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expectProtocolError(() => parseXml(Buffer.from(big), { maxInputBytes: 64 }), /larger than maxInputBytes/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    // 30 characters but 90 UTF-8 bytes
    expectProtocolError(() => parseXml(`<a>${'世'.repeat(30)}</a>`, { maxInputBytes: 64 }), /maxInputBytes/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  });

  it('limits text, attribute and comment length', () => {
    expectProtocolError(() => parseXml('<a>12345</a>', { maxTextChars: 4 }), /text longer than maxTextChars 4/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expectProtocolError(() => parseXml('<a b="12345"/>', { maxTextChars: 4 }), /attribute b longer/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expectProtocolError(() => parseXml('<a><!--12345--></a>', { maxTextChars: 4 }), /comment longer/, 'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expect(parseXml('<a>&amp;&amp;&amp;&amp;</a>', { maxTextChars: 4 })[1]).toEqual({ kind: 'text', value: '&&&&' });
  });

  it('limits attributes per element and name length', () => {
    const attrs = Array.from({ length: 5 }, (_, i) => ` a${i}="1"`).join('');
    expectProtocolError(() => parseXml(`<a${attrs}/>`, { maxAttributesPerElement: 4 }), /more than maxAttributesPerElement 4/);
    expect(() => parseXml(`<a${attrs}/>`, { maxAttributesPerElement: 5 })).not.toThrow();
    expectProtocolError(() => parseXml(`<${'n'.repeat(20)}/>`, { maxNameChars: 16 }), /longer than maxNameChars 16/);
  });
});
