import { ProtocolError } from '../../../../src/core/errors';
import { SessionReader, SessionWriter, readNbfx, writeNbfx, type NbfxTextHint } from '../../../../src/protocol/nbfx';
import type { XmlToken } from '../../../../src/protocol/xml/tokens';
import { writeXml } from '../../../../src/protocol/xml/text-writer';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const xml = (b: Buffer, session?: SessionReader): string => writeXml(readNbfx(b, { session }), { selfClose: false });
/** Decodes, checks the XML, and checks that re-encoding from the tokens gives the same bytes. */
function roundTrip(bytes: string, expectedXml: string): XmlToken[] {
  const b = hex(bytes);
  const tokens = readNbfx(b);
  expect(writeXml(tokens, { selfClose: false })).toBe(expectedXml);
  expect(writeNbfx(tokens).toString('hex')).toBe(b.toString('hex'));
  return tokens;
}
function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

/** <a>TEXT</a> with a WithEndElement text record (odd form of `even`) and the payload given. */
const inA = (record: number, payload: string): string => `40 01 61 ${(record + 1).toString(16)} ${payload}`;

describe('[MC-NBFX] text records: text form as .NET prints it, exact re-encoding', () => {
  it.each([
    ['ZeroText', inA(0x80, ''), '0'],
    ['OneText', inA(0x82, ''), '1'],
    ['FalseText', inA(0x84, ''), 'false'],
    ['TrueText', inA(0x86, ''), 'true'],
    ['Int8Text', inA(0x88, 'ff'), '-1'],
    ['Int16Text', inA(0x8a, '0080'), '-32768'],
    ['Int32Text', inA(0x8c, 'ffffff7f'), '2147483647'],
    ['Int64Text max', inA(0x8e, 'ffffffffffffff7f'), '9223372036854775807'],
    ['Int64Text min', inA(0x8e, '0000000000000080'), '-9223372036854775808'],
    ['UInt64Text max', inA(0xb2, 'ffffffffffffffff'), '18446744073709551615'],
    ['FloatText 0.1f', inA(0x90, 'cdcccc3d'), '0.1'],
    ['FloatText 1.5', inA(0x90, '0000c03f'), '1.5'],
    ['FloatText 16777216', inA(0x90, '0000804b'), '16777216'],
    ['FloatText 1e9', inA(0x90, '286b6e4e'), '1E+09'],
    ['FloatText max', inA(0x90, 'ffff7f7f'), '3.4028235E+38'],
    ['FloatText 1e-5', inA(0x90, 'acc52737'), '1E-05'],
    ['FloatText -0', inA(0x90, '00000080'), '-0'],
    ['FloatText INF', inA(0x90, '0000807f'), 'INF'],
    ['FloatText -INF', inA(0x90, '000080ff'), '-INF'],
    ['FloatText NaN', inA(0x90, '0000c07f'), 'NaN'],
    ['DoubleText 0.1', inA(0x92, '9a9999999999b93f'), '0.1'],
    ['DoubleText 1e16', inA(0x92, '000080e03779433'.padEnd(16, '4')), ''],
    ['DecimalText 1.50', inA(0x94, '00000200 00000000 9600000000000000'), '1.50'],
    ['DecimalText -123.4567', inA(0x94, '00000480 00000000 87d6120000000000'), '-123.4567'],
    ['DecimalText max', inA(0x94, '00000000 ffffffff ffffffffffffffff'), '79228162514264337593543950335'],
    ['DecimalText 0.001', inA(0x94, '00000300 00000000 0100000000000000'), '0.001'],
    ['DateTime UTC', inA(0x96, '80c0bf7a3f0bdc48'), '2024-01-02T03:04:05Z'],
    ['DateTime unspecified', inA(0x96, '80c0bf7a3f0bdc08'), '2024-01-02T03:04:05'],
    ['DateTime local (printed as a UTC reader would)', inA(0x96, '80c0bf7a3f0bdc88'), '2024-01-02T03:04:05+00:00'],
    ['DateTime fraction', inA(0x96, '0797d27a3f0bdc48'), '2024-01-02T03:04:05.1234567Z'],
    ['DateTime MinValue', inA(0x96, '0000000000000000'), '0001-01-01T00:00:00'],
    ['TimeSpan zero', inA(0xae, '0000000000000000'), 'PT0S'],
    ['TimeSpan 1h2m', inA(0xae, '00f44aa908000000'), 'PT1H2M'],
    ['TimeSpan 1.5s', inA(0xae, 'c0e1e40000000000'), 'PT1.5S'],
    ['TimeSpan -1 day', inA(0xae, '004096d536ffffff'), '-P1D'],
    ['TimeSpan 1 day + 1 tick', inA(0xae, '01c0692ac9000000'), 'P1DT0.0000001S'],
    ['UniqueIdText', inA(0xac, '86842bc9fbce01428a8922bcd24b699e'), 'urn:uuid:c92b8486-cefb-4201-8a89-22bcd24b699e'],
    ['UuidText', inA(0xb0, '86842bc9fbce01428a8922bcd24b699e'), 'c92b8486-cefb-4201-8a89-22bcd24b699e'],
    ['BoolText (any non-zero is true)', inA(0xb4, '02'), 'true'],
    ['Chars8Text', inA(0x98, '026869'), 'hi'],
    ['Chars16Text', inA(0x9a, '02006869'), 'hi'],
    ['Chars32Text', inA(0x9c, '020000006869'), 'hi'],
    ['Bytes8Text', inA(0x9e, '03000102'), 'AAEC'],
    ['Bytes16Text', inA(0xa0, '0200feff'), '/v8='],
    ['Bytes32Text', inA(0xa2, '01000000ff'), '/w=='],
    ['UnicodeChars8Text', inA(0xb6, '0468006900'), 'hi'],
    ['UnicodeChars16Text', inA(0xb8, '02003d26'), '☽'],
    ['UnicodeChars32Text', inA(0xba, '020000003d26'), '☽'],
    ['EmptyText', inA(0xa8, ''), ''],
    ['DictionaryText (static)', inA(0xaa, '02'), 'Envelope'],
    ['QNameDictionaryText', inA(0xbc, '0102'), 'b:Envelope'],
  ])('%s', (_name, bytes, text) => {
    if (_name === 'DoubleText 1e16') return; // covered below with exact bytes
    roundTrip(bytes, `<a>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</a>`);
  });

  it('DoubleText switches to E notation past 17 digits and below 1E-05, like .NET "R"', () => {
    const dbl = (v: number): string => {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v);
      return inA(0x92, b.toString('hex'));
    };
    roundTrip(dbl(1e16), '<a>10000000000000000</a>');
    roundTrip(dbl(1e17), '<a>1E+17</a>');
    roundTrip(dbl(0.0001), '<a>0.0001</a>');
    roundTrip(dbl(0.00001), '<a>1E-05</a>');
    roundTrip(dbl(5e-324), '<a>5E-324</a>');
    roundTrip(dbl(-123.456), '<a>-123.456</a>');
    roundTrip(dbl(1.7976931348623157e308), '<a>1.7976931348623157E+308</a>');
  });

  it('plain and WithEndElement forms mean the same; both re-encode as read', () => {
    roundTrip('40 01 61 98 02 6869 01', '<a>hi</a>');
    roundTrip('40 01 61 99 02 6869', '<a>hi</a>');
  });

  it('lists join their items with one space', () => {
    roundTrip('40 01 61 a4 82 84 98 01 78 8c 05000000 a6 01', '<a>1 false x 5</a>');
  });

  it('consecutive Bytes records are separate text tokens whose base64 concatenates', () => {
    const tokens = roundTrip('40 01 61 9e 03 000102 9f 02 feff', '<a>AAEC/v8=</a>');
    expect(tokens.filter((t) => t.kind === 'text')).toHaveLength(2);
  });

  it('typed hints carry the record and raw payload', () => {
    const tokens = readNbfx(hex(inA(0x96, '80c0bf7a3f0bdc88')));
    const hint = (tokens[1] as { typed: NbfxTextHint }).typed;
    expect(hint.record).toBe(0x96);
    expect(hint.endElement).toBe(true);
    expect(hint.raw?.toString('hex')).toBe('80c0bf7a3f0bdc88');
  });
});

describe('[MC-NBFX] structure records', () => {
  it('every element form', () => {
    roundTrip('40 01 61 01', '<a></a>');
    roundTrip('41 01 70 01 61 01', '<p:a></p:a>');
    roundTrip('42 02 01', '<Envelope></Envelope>');
    roundTrip('43 02 70 71 02 01', '<pq:Envelope></pq:Envelope>');
    roundTrip('56 02 01', '<s:Envelope></s:Envelope>');
    roundTrip('5d 02 01', '<z:Envelope></z:Envelope>');
    roundTrip('5e 01 61 01', '<a:a></a:a>');
    roundTrip('77 01 61 01', '<z:a></z:a>');
  });

  it('every attribute and namespace declaration form', () => {
    roundTrip(
      '40 01 65 04 01 78 98 01 31 05 02 70 71 01 79 82 06 0a 84 07 01 70 0c 86 08 03 75 3a 78 09 01 70 03 75 3a 70 0a 06 0b 01 73 04 0c 00 82 25 00 80 26 01 6e 98 00 3f 01 6e a8 01',
      '<e x="1" pq:y="1" Action="false" p:To="true" xmlns="u:x" xmlns:p="u:p" xmlns="http://www.w3.org/2005/08/addressing" xmlns:s="http://www.w3.org/2003/05/soap-envelope" a:mustUnderstand="1" z:mustUnderstand="0" a:n="" z:n=""></e>',
    );
  });

  it('comments, and text after child elements', () => {
    roundTrip('02 01 63 40 01 61 02 01 64 40 01 62 01 99 01 74', '<!--c--><a><!--d--><b></b>t</a>');
  });

  it('arrays expand to repeated elements and pack back into one Array record', () => {
    const bytes = '40 01 61 03 40 01 69 04 01 6b 98 01 76 01 8d 03 01000000 02000000 ffffffff 01';
    const tokens = roundTrip(bytes, '<a><i k="v">1</i><i k="v">2</i><i k="v">-1</i></a>');
    expect(tokens.filter((t) => t.kind === 'startElement')).toHaveLength(4);
    // Edited items cannot be packed any more: the writer writes them one by one.
    const edited = tokens.map((t) => (t.kind === 'text' && t.value === '2' ? { kind: 'text' as const, value: '7' } : t));
    expect(xml(writeNbfx(edited))).toBe('<a><i k="v">1</i><i k="v">7</i><i k="v">-1</i></a>');
  });

  it.each([
    ['bool', 'b5', '0100', 'true false'],
    ['int16', '8b', '0100ffff', '1 -1'],
    ['int64', '8f', '0100000000000000ffffffffffffffff', '1 -1'],
    ['float', '91', '0000c03fcdcccc3d', '1.5 0.1'],
    ['double', '93', '000000000000f83f9a9999999999b93f', '1.5 0.1'],
    ['decimal', '95', '000002000000000096000000000000000000000000000000' + '0100000000000000', '1.50 1'],
    ['DateTime', '97', '80c0bf7a3f0bdc480000000000000000', '2024-01-02T03:04:05Z 0001-01-01T00:00:00'],
    ['TimeSpan', 'af', '00000000000000000100000000000000', 'PT0S PT0.0000001S'],
    ['Guid', 'b1', '86842bc9fbce01428a8922bcd24b699e' + '00'.repeat(16), 'c92b8486-cefb-4201-8a89-22bcd24b699e 00000000-0000-0000-0000-000000000000'],
  ])('array of %s', (_n, type, values, texts) => {
    const items = texts.split(' ').map((t) => `<x>${t}</x>`).join('');
    roundTrip(`40 01 61 03 40 01 78 01 ${type} 02 ${values} 01`, `<a>${items}</a>`);
  });

  it('resolves odd keys through the session, by parity', () => {
    const session = new SessionReader();
    session.readStringTable(hex('04 01 61 01 62'));
    expect(xml(hex('42 01 0a 03 42 03 ab 01 01'), session)).toBe('<a xmlns="b"><b>a</b></a>');
  });
});

describe('[MC-NBFX] reader errors (all ProtocolError)', () => {
  const session = new SessionReader();
  session.readStringTable(hex('02 01 61'));
  it.each([
    ['odd key without a session', '42 01 01', undefined],
    ['undefined session id', '42 03 01', session],
    ['undefined static key 0x3CE', '42 ce07 01', undefined],
    ['record 0x78', '78', undefined],
    ['record 0x00', '00', undefined],
    ['record 0xBE', '40 01 61 be', undefined],
    ['EndElement with nothing open', '01', undefined],
    ['attribute after content', '40 01 61 98 00 04 01 78 98 00 01', undefined],
    ['text outside the root', '98 01 61', undefined],
    ['second root element', '40 01 61 01 40 01 62 01', undefined],
    ['truncated record', '40 05 61', undefined],
    ['unclosed root', '40 01 61', undefined],
    ['WithEndElement form as an attribute value', '40 01 61 04 01 78 99 00 01', undefined],
    ['nested list', '40 01 61 a4 a4 a6 a6 01', undefined],
    ['odd UnicodeChars length', '40 01 61 b7 03 616263', undefined],
    ['invalid UTF-8', '40 01 61 99 01 ff', undefined],
    ['decimal scale 29', '40 01 61 95 00001d00 00000000 0000000000000000', undefined],
    ['DateTime kind 3', '40 01 61 97 00000000000000c0', undefined],
    ['negative Chars32 length', '40 01 61 9d ffffffff', undefined],
    ['QName prefix past z', '40 01 61 bd 1a 02', undefined],
    ['array item type that is not a fixed-size record', '40 01 61 03 40 01 78 01 99 01 00 01', undefined],
    ['empty element name', '40 00 01', undefined],
    ['xmlns with empty prefix', '40 01 61 09 00 01 75 01', undefined],
    ['MB31 over 2^31-1', '42 ffffffff0f 01', undefined],
  ])('%s', (_n, bytes, s) => {
    thrown(() => readNbfx(hex(bytes), { session: s }));
  });

  it('checks depth, array length, attribute and token limits before expanding', () => {
    const deep = Buffer.concat([...Array.from({ length: 5 }, () => hex('40 01 61')), ...Array.from({ length: 5 }, () => hex('01'))]);
    expect(() => readNbfx(deep, { limits: { maxDepth: 5 } })).not.toThrow();
    expect(thrown(() => readNbfx(deep, { limits: { maxDepth: 4 } })).message).toMatch(/deeper/);
    const arr = hex('40 01 61 03 40 01 78 01 b5 ffffffff07 01');
    expect(thrown(() => readNbfx(arr)).message).toMatch(/Array of 2147483647 items/);
    const arr3 = hex('40 01 61 03 40 01 78 01 b5 03 010101 01');
    expect(thrown(() => readNbfx(arr3, { limits: { maxArrayLength: 2 } })).message).toMatch(/exceeds 2/);
    expect(thrown(() => readNbfx(arr3, { limits: { maxTokens: 8 } })).message).toMatch(/tokens/);
    expect(thrown(() => readNbfx(hex('40 01 61 04 01 78 80 04 01 79 80 01'), { limits: { maxAttributesPerElement: 1 } })).message).toMatch(/attributes/);
  });
});

describe('[MC-NBFX] writer defaults (tokens without hints)', () => {
  const t = (tokens: XmlToken[], session?: SessionWriter): string => writeNbfx(tokens, { session }).toString('hex');
  it('static names, letter prefixes, narrowest typed text, folding', () => {
    expect(
      t([
        { kind: 'startElement', prefix: 's', localName: 'Envelope' },
        { kind: 'attribute', prefix: 'xmlns', localName: 's', value: 'http://www.w3.org/2003/05/soap-envelope', isNamespaceDeclaration: true },
        { kind: 'startElement', prefix: '', localName: 'n' },
        { kind: 'text', value: '300' },
        { kind: 'endElement' },
        { kind: 'startElement', prefix: 'pre', localName: 'm' },
        { kind: 'attribute', prefix: '', localName: 'v', value: '' },
        { kind: 'text', value: 'urn:uuid:c92b8486-cefb-4201-8a89-22bcd24b699e' },
        { kind: 'endElement' },
        { kind: 'endElement' },
      ]),
    ).toBe('5602' + '0b017304' + '40016e' + '8b2c01' + '4103707265016d' + '040176a8' + 'ad86842bc9fbce01428a8922bcd24b699e' + '01');
  });

  it.each([
    ['0', '81'], ['1', '83'], ['true', '87'], ['false', '85'], ['-129', '8b7fff'], ['2147483648', '8f0000008000000000'],
    ['18446744073709551615', 'b3ffffffffffffffff'], ['007', '9903303037'], ['+5', '99022b35'], ['-0', '99022d30'],
    ['x'.repeat(300), '9b2c01' + '78'.repeat(300)],
  ])('text %s', (value, bytes) => {
    expect(t([{ kind: 'startElement', prefix: '', localName: 'zz' }, { kind: 'text', value }, { kind: 'endElement' }])).toBe('40027a7a' + bytes);
  });

  it('session names within the quota, literal names past it', () => {
    const session = new SessionWriter({ maxSessionBytes: 8 });
    const doc = (name: string): XmlToken[] => [{ kind: 'startElement', prefix: '', localName: name }, { kind: 'endElement' }];
    expect(t(doc('abcdef'), session)).toBe('420101');
    expect(session.takeStringTable().toString('hex')).toBe('0706616263646566');
    expect(t(doc('abcdef'), session)).toBe('420101');
    expect(session.takeStringTable().toString('hex')).toBe('00');
    expect(t(doc('gh'), session)).toBe('40026768' + '01');
    expect(session.takeStringTable().toString('hex')).toBe('00');
  });

  it('refuses invalid token sequences', () => {
    thrown(() => writeNbfx([{ kind: 'endElement' }]));
    thrown(() => writeNbfx([{ kind: 'startElement', prefix: '', localName: 'a' }]));
    thrown(() => writeNbfx([{ kind: 'text', value: 'x' }]));
    thrown(() => writeNbfx([{ kind: 'startElement', prefix: '', localName: 'a' }, { kind: 'text', value: 'x' }, { kind: 'attribute', prefix: '', localName: 'b', value: '' }, { kind: 'endElement' }]));
  });

  it('a stale hint (value edited after decoding) is ignored', () => {
    const tokens = readNbfx(hex('40 01 61 99 01 78'));
    const edited = tokens.map((tk) => (tk.kind === 'text' ? { ...tk, value: '5' } : tk));
    expect(writeNbfx(edited).toString('hex')).toBe('4001618905');
  });
});
