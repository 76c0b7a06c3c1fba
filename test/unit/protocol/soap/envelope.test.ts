import { ProtocolError } from '../../../../src/core/errors';
import { RELAY_CONNECT_NS, WSA10_NS, WSA200408_NS } from '../../../../src/protocol/soap/addressing';
import { classifySoapContentType, parseContentType, parseSoapActionHeader } from '../../../../src/protocol/soap/content-type';
import { mayHaveAddressing, scanEnvelope } from '../../../../src/protocol/soap/envelope';
import { inspectEnvelope, rewriteAddressingTo, stripRelayAccessToken } from '../../../../src/protocol/soap/soap-message';
import { caseNames, loadCase } from './fixtures';

const S11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const S12 = 'http://www.w3.org/2003/05/soap-envelope';

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('content type and SOAPAction', () => {
  it.each([
    ['"http://x/A"', 'http://x/A'],
    ['http://x/A', 'http://x/A'],
    ['""', ''],
    ['  "http://x/A"  ', 'http://x/A'],
    ['"http://x/A%20B"', 'http://x/A B'],
    ['"bad%zz"', 'bad%zz'],
  ])('SOAPAction %s -> %j', (header, action) => {
    expect(parseSoapActionHeader(header)).toBe(action);
  });

  it('absent SOAPAction is undefined', () => {
    expect(parseSoapActionHeader(undefined)).toBeUndefined();
  });

  it('parses quoted parameters with escapes, case-insensitively', () => {
    const ct = parseContentType('Application/SOAP+XML; Charset=UTF-8; action="urn:a;b\\"c"');
    expect(ct.mediaType).toBe('application/soap+xml');
    expect(ct.parameters.get('charset')).toBe('UTF-8');
    expect(ct.parameters.get('action')).toBe('urn:a;b"c');
  });

  it('classifies SOAP 1.1, SOAP 1.2 with and without action, and MTOM', () => {
    expect(classifySoapContentType('text/xml; charset=utf-8')).toMatchObject({ soapVersion: 'soap11', mtom: false, charset: 'utf-8' });
    expect(classifySoapContentType('application/soap+xml; charset=utf-8; action="http://x/A"')).toMatchObject({ soapVersion: 'soap12', action: 'http://x/A' });
    expect(classifySoapContentType('application/soap+xml; charset=utf-8')).toMatchObject({ soapVersion: 'soap12', action: undefined });
    expect(classifySoapContentType(undefined)).toMatchObject({ soapVersion: undefined, mtom: false });
    const mtom = classifySoapContentType('multipart/related; type="application/xop+xml"; start="<http://tempuri.org/0>"; ' +
      'boundary="uuid:0ca0e16e-feb1-426c-97d8-c4508ada5e82+id=1"; start-info="application/soap+xml; action=\\"http://x/A\\""');
    expect(mtom).toMatchObject({ mtom: true, soapVersion: 'soap12', action: 'http://x/A', start: '<http://tempuri.org/0>', boundary: 'uuid:0ca0e16e-feb1-426c-97d8-c4508ada5e82+id=1' });
    expect(classifySoapContentType('multipart/related; type="application/xop+xml"; start-info="text/xml"')).toMatchObject({ mtom: true, soapVersion: 'soap11' });
  });

  it.each([
    ['application/json', /not SOAP/],
    ['text/plain', /not SOAP/],
    ['multipart/related; type="text/html"', /not a SOAP MTOM/],
    ['text/xml; charset=iso-8859-1', /unsupported charset/],
    ['garbage', /malformed Content-Type/],
  ])('rejects %s with HTTP 415', (ct, message) => {
    const err = protocolError(() => classifySoapContentType(ct));
    expect(err.httpStatus).toBe(415);
    expect(err.message).toMatch(message);
  });
});

describe('inspectEnvelope on the Mono captures', () => {
  it.each(caseNames('mono-basichttp-'))('%s (SOAP 1.1)', (name) => {
    const c = loadCase(name);
    const info = inspectEnvelope(c.request, c.meta.request.headers['Content-Type'], c.meta.request.headers.SOAPAction);
    expect(info.soapVersion).toBe('soap11');
    expect(info.envelopeNamespace).toBe(S11);
    expect(info.action).toBe(JSON.parse(c.meta.request.headers.SOAPAction!));
    expect(info.httpAction).toBe(info.action);
    expect(info.addressing).toBeUndefined();
    expect(info.header).toBeUndefined();
    expect(info.oneWayCandidate).toBe(false);
    expect(info.isFault).toBe(false);
    // The Body range splices out exactly the Body element and its content.
    const text = c.request.toString('utf8');
    expect(c.request.subarray(info.body.start, info.body.contentStart).toString()).toBe('<s:Body>');
    expect(c.request.subarray(info.body.contentEnd, info.body.end).toString()).toBe('</s:Body>');
    expect(c.request.subarray(info.body.end).toString()).toBe('</s:Envelope>');
    expect(c.request.subarray(info.body.contentStart, info.body.contentEnd).toString()).toBe(text.slice(text.indexOf('<s:Body>') + 8, text.lastIndexOf('</s:Body>')));
    expect(info.bodyFirstChild?.namespaceUri).toBe('http://example.org/calc');
  });

  it.each(caseNames('mono-wshttp-'))('%s (SOAP 1.2 + WS-Addressing 1.0)', (name) => {
    const c = loadCase(name);
    const info = inspectEnvelope(c.request, c.meta.request.headers['Content-Type'], undefined);
    expect(info.soapVersion).toBe('soap12');
    expect(info.contentType.action).toBeUndefined(); // Mono sends no action= parameter
    expect(info.httpAction).toBeUndefined();
    expect(info.addressing).toMatchObject({ version: 'wsa10', namespace: WSA10_NS, to: 'http://localhost:19083/calc', replyTo: 'http://www.w3.org/2005/08/addressing/anonymous' });
    expect(info.addressing?.messageId).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(info.action).toBe(info.addressing?.action);
    expect(info.action).toMatch(/^http:\/\/example\.org\/calc\/ICalculator\/\w+$/);
    expect(info.headers.map((h) => h.localName)).toEqual(['Action', 'MessageID', 'ReplyTo', 'To']);
    expect(info.headers.map((h) => h.mustUnderstand)).toEqual([true, false, false, true]);
    for (const h of info.headers) {
      expect(c.request.subarray(h.start, h.contentStart).toString()).toMatch(new RegExp(`^<a:${h.localName}[ >]`));
      expect(c.request.subarray(h.contentEnd, h.end).toString()).toBe(`</a:${h.localName}>`);
    }
    expect(c.request.subarray(info.header!.contentStart, info.header!.contentEnd).toString()).toMatch(/^<a:Action.*<\/a:To>$/);
    expect(info.oneWayCandidate).toBe(false); // even Notify: Mono sends MessageID + ReplyTo on one-way calls
  });

  it('recognises the captured faults (first Body child) without tokenizing the Body', () => {
    for (const name of ['mono-basichttp-divide-typed-fault', 'mono-wshttp-fail-internal-fault']) {
      const c = loadCase(name);
      const info = scanEnvelope(c.response!);
      expect(info.isFault).toBe(true);
      expect(info.bodyFirstChild?.localName).toBe('Fault');
    }
    expect(scanEnvelope(loadCase('mono-wshttp-add').response!)).toMatchObject({
      isFault: false,
      addressing: { action: 'http://example.org/calc/ICalculator/AddResponse', relatesTo: 'urn:uuid:3120c962-087a-4ec1-91a8-d51842289569' },
    });
  });

  it('reports byte offsets (not character offsets) for non-ASCII messages', () => {
    const c = loadCase('mono-wshttp-echo-unicode');
    const info = inspectEnvelope(c.request, 'application/soap+xml; charset=utf-8', undefined);
    expect(c.request.subarray(info.body.contentEnd, info.body.end).toString()).toBe('</s:Body>');
    expect(c.request.subarray(info.body.contentStart, info.body.contentEnd).toString()).toContain('héllo &lt;&amp;&gt; 世界');
  });
});

describe('inspectEnvelope: the Body is not tokenized', () => {
  const head = `<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA10_NS}"><s:Header><a:Action s:mustUnderstand="1">urn:op</a:Action><a:To s:mustUnderstand="1">sb://x/y</a:To></s:Header>`;

  it('accepts a Body whose content would not even parse', () => {
    const body = Buffer.from(`${head}<s:Body><op>&undefined; <<< ${'x'.repeat(10)}</s:Body></s:Envelope>`);
    expect(inspectEnvelope(body, 'application/soap+xml', undefined).bodyFirstChild?.localName).toBe('op'); // only its start tag is read
    const lax = Buffer.from(`${head}<s:Body><op>&undefined; <<< </op></s:Body></s:Envelope>`);
    const info = inspectEnvelope(lax, 'application/soap+xml', undefined);
    expect(info.oneWayCandidate).toBe(true); // no MessageID, no ReplyTo
    expect(info.action).toBe('urn:op');
    expect(lax.subarray(info.body.contentStart, info.body.contentEnd).toString()).toBe('<op>&undefined; <<< </op>');
  });

  it('handles an empty Body, a self-closed Body and trailing whitespace/comments', () => {
    for (const tail of ['<s:Body></s:Body></s:Envelope>', '<s:Body/></s:Envelope>', '<s:Body>  </s:Body>\n</s:Envelope>\n<!-- c -->\n']) {
      const info = inspectEnvelope(Buffer.from(head + tail), 'application/soap+xml', undefined);
      expect(info.bodyFirstChild).toBeUndefined();
      expect(info.body.contentEnd).toBeGreaterThanOrEqual(info.body.contentStart);
    }
  });

  it('rejects content after the Body', () => {
    expect(protocolError(() => scanEnvelope(Buffer.from(`${head}<s:Body><x/></s:Body><s:Trailer/></s:Envelope>`))).message).toMatch(/Body is not closed/);
    expect(protocolError(() => scanEnvelope(Buffer.from(`${head}<s:Body><x/></s:Body></s:Envelope><more/>`))).message).toMatch(/Body is not closed/);
  });

  it('reads WS-Addressing 2004/08 headers', () => {
    const msg = Buffer.from(`<s:Envelope xmlns:s="${S12}" xmlns:w="${WSA200408_NS}"><s:Header><w:Action>urn:a</w:Action><w:MessageID>uuid:1</w:MessageID>` +
      '<w:ReplyTo><w:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</w:Address></w:ReplyTo>' +
      `<w:FaultTo><w:Address>urn:faults</w:Address></w:FaultTo><w:To>urn:to</w:To><w:RelatesTo>uuid:0</w:RelatesTo></s:Header><s:Body/></s:Envelope>`);
    expect(scanEnvelope(msg).addressing).toEqual({
      version: 'wsa200408',
      namespace: WSA200408_NS,
      action: 'urn:a',
      to: 'urn:to',
      messageId: 'uuid:1',
      relatesTo: 'uuid:0',
      replyTo: 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
      faultTo: 'urn:faults',
      from: undefined,
    });
  });
});

describe('scanEnvelope on large messages (head-only decoding)', () => {
  const head = `<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA10_NS}"><s:Header><a:Action>urn:op</a:Action><a:To>urn:to</a:To></s:Header>`;
  const big = (bodyContent: string, header = head): Buffer => Buffer.from(`${header}<s:Body>${bodyContent}</s:Body></s:Envelope>`);

  it('finds header and Body ranges in bytes in a 2 MB message with non-ASCII content', () => {
    const content = `<Echo xmlns="urn:x"><t>${'héllo 世界 '.repeat(150_000)}</t></Echo>`;
    const msg = big(content);
    const info = scanEnvelope(msg);
    expect(info.addressing).toMatchObject({ action: 'urn:op', to: 'urn:to' });
    expect(msg.subarray(info.body.contentStart, info.body.contentEnd).toString()).toBe(content);
    expect(info.body.end).toBe(msg.length - '</s:Envelope>'.length);
  });

  it('falls back to a full scan when the Body starts beyond the head', () => {
    const longHeader = head.replace('</s:Header>', `<h:Big xmlns:h="urn:h">${'x'.repeat(100_000)}</h:Big></s:Header>`);
    const msg = big('<op/>', longHeader);
    const info = scanEnvelope(msg);
    expect(info.headers.map((h) => h.localName)).toEqual(['Action', 'To', 'Big']);
    expect(msg.subarray(info.body.contentStart, info.body.contentEnd).toString()).toBe('<op/>');
  });

  it('tries the 256 KiB head when the Body starts beyond the first 8 KiB, then the whole message', () => {
    for (const headerBytes of [20_000, 300_000]) {
      const longHeader = head.replace('</s:Header>', `<h:Big xmlns:h="urn:h">${'y'.repeat(headerBytes)}</h:Big></s:Header>`);
      const content = `<op>${'z'.repeat(400_000)}</op>`;
      const msg = big(content, longHeader);
      const info = scanEnvelope(msg);
      expect(info.headers.map((h) => h.localName)).toEqual(['Action', 'To', 'Big']);
      expect(msg.subarray(info.body.contentStart, info.body.contentEnd).toString()).toBe(content);
    }
  });

  it('still reports errors in the head, the tail, and the size limit', () => {
    expect(() => scanEnvelope(big(`<op>${'x'.repeat(100_000)}</op>`, head.replace('<a:To>', '<a:To x>')))).toThrow(/expected '='/);
    expect(() => scanEnvelope(Buffer.concat([big(`<op>${'x'.repeat(100_000)}</op>`), Buffer.from('<extra/>')]))).toThrow(/Body is not closed/);
    expect(protocolError(() => scanEnvelope(big('x'.repeat(100_000)), { maxInputBytes: 50_000 })).code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  });
});

describe('inspectEnvelope: errors', () => {
  const s11 = Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body><x/></s:Body></s:Envelope>`);
  const s12 = Buffer.from(`<s:Envelope xmlns:s="${S12}"><s:Body><x/></s:Body></s:Envelope>`);

  it.each([
    ['not XML', Buffer.from('hello'), 'text/xml', /Malformed XML/],
    ['not an envelope', Buffer.from('<Envelope/>'), 'text/xml', /not a SOAP 1.1 or 1.2 Envelope/],
    ['unknown envelope namespace', Buffer.from('<s:Envelope xmlns:s="urn:x"><s:Body/></s:Envelope>'), 'text/xml', /not a SOAP/],
    ['no Body', Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Header/></s:Envelope>`), 'text/xml', /no Body/],
    ['Header after Body', Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body/><s:Header/></s:Envelope>`), 'text/xml', /unexpected .*Header/],
    ['foreign element in Envelope', Buffer.from(`<s:Envelope xmlns:s="${S11}"><x/><s:Body/></s:Envelope>`), 'text/xml', /unexpected \{\}x/],
    ['1.2 envelope as text/xml', s12, 'text/xml; charset=utf-8', /SOAP 1.2 envelope was sent with Content-Type text\/xml/],
    ['1.1 envelope as application/soap+xml', s11, 'application/soap+xml', /SOAP 1.1 envelope/],
    ['DOCTYPE', Buffer.from(`<!DOCTYPE s:Envelope [<!ENTITY x "y">]>${s11.toString()}`), 'text/xml', /DOCTYPE is not allowed/],
  ])('%s', (_name, body, ct, message) => {
    expect(protocolError(() => inspectEnvelope(body, ct, '""')).message).toMatch(message);
  });

  it('invalid UTF-8 past the scanned head is refused with HTTP 415 (never forwarded)', () => {
    const text = `<s:Envelope xmlns:s="${S11}"><s:Body><x>${'a'.repeat(20_000)}@</x></s:Body></s:Envelope>`;
    const body = Buffer.from(text);
    body[body.indexOf('@')] = 0xc3; // a lead byte followed by '<': not UTF-8
    const err = protocolError(() => inspectEnvelope(body, 'text/xml; charset=utf-8', '""'));
    expect(err.message).toMatch(/not valid UTF-8/);
    expect(err.httpStatus).toBe(415);
    // The same body, valid, passes; UTF-16 with its BOM is not checked as UTF-8.
    expect(() => inspectEnvelope(Buffer.from(text), 'text/xml; charset=utf-8', '""')).not.toThrow();
    expect(() => inspectEnvelope(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), 'text/xml; charset=utf-16', '""')).not.toThrow();
  });

  it('wrong content type is HTTP 415', () => {
    expect(protocolError(() => inspectEnvelope(s11, 'application/json', undefined)).httpStatus).toBe(415);
  });

  it('MTOM bodies are reported, not parsed', () => {
    const err = protocolError(() => inspectEnvelope(Buffer.from('--uuid\r\n...'), 'multipart/related; type="application/xop+xml"; start-info="text/xml"', '"a"'));
    expect(err.httpStatus).toBe(415);
    expect(err.message).toMatch(/MTOM/);
  });

  it('oversize input is FRAME_TOO_LARGE', () => {
    expect(protocolError(() => inspectEnvelope(s11, 'text/xml', '""', { maxInputBytes: 16 })).code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
  });

  it('a wsa:Action that contradicts the HTTP action is refused', () => {
    const msg = Buffer.from(`<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA10_NS}"><s:Header><a:Action>urn:one</a:Action></s:Header><s:Body/></s:Envelope>`);
    expect(protocolError(() => inspectEnvelope(msg, 'application/soap+xml; action="urn:two"', undefined)).message).toMatch(/does not match/);
    expect(inspectEnvelope(msg, 'application/soap+xml; action="urn:one"', undefined).action).toBe('urn:one');
  });

  it('without a Content-Type the envelope decides', () => {
    expect(inspectEnvelope(s12, undefined, undefined).soapVersion).toBe('soap12');
    expect(inspectEnvelope(s11, undefined, '"urn:x"').action).toBe('urn:x');
  });
});

describe('RelayAccessToken and wsa:To rewriting', () => {
  const token = 'SharedAccessSignature sr=http%3a%2f%2frelay%2fcalc&sig=abc%3d&se=1700000000&skn=send';
  const withToken = (encoded: boolean): Buffer => Buffer.from(
    `<s:Envelope xmlns:s="${S11}"><s:Header><Other xmlns="urn:o">keep</Other>` +
    `<RelayAccessToken xmlns="${RELAY_CONNECT_NS}"><wsse:BinarySecurityToken xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ` +
    `ValueType="http://schemas.xmlsoap.org/ws/2009/11/swt-token-profile-1.0" ${encoded ? 'EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"' : ''}>` +
    `${encoded ? Buffer.from(token).toString('base64') : token.replace(/&/g, '&amp;')}</wsse:BinarySecurityToken></RelayAccessToken></s:Header>` +
    '<s:Body><Add xmlns="http://example.org/calc"><a>2</a></Add></s:Body></s:Envelope>');

  it('strips the header and returns the token (plain and base64)', () => {
    for (const encoded of [false, true]) {
      const stripped = stripRelayAccessToken(withToken(encoded));
      expect(stripped.token).toBe(token);
      expect(stripped.body.toString()).toBe(`<s:Envelope xmlns:s="${S11}"><s:Header><Other xmlns="urn:o">keep</Other></s:Header>` +
        '<s:Body><Add xmlns="http://example.org/calc"><a>2</a></Add></s:Body></s:Envelope>');
    }
  });

  it('returns the same buffer when there is no token', () => {
    const c = loadCase('mono-basichttp-add');
    const stripped = stripRelayAccessToken(c.request);
    expect(stripped.body).toBe(c.request);
    expect(stripped.token).toBeUndefined();
  });

  it('rewrites wsa:To byte-for-byte, escaping the new value', () => {
    const c = loadCase('mono-wshttp-add');
    const out = rewriteAddressingTo(c.request, 'http://backend:8080/calc?a=1&b=2');
    expect(out.previous).toBe('http://localhost:19083/calc');
    expect(out.body.toString()).toBe(c.request.toString().replace('>http://localhost:19083/calc<', '>http://backend:8080/calc?a=1&amp;b=2<'));
    expect(scanEnvelope(out.body).addressing?.to).toBe('http://backend:8080/calc?a=1&b=2');
  });

  it('leaves a message without wsa:To alone', () => {
    const c = loadCase('mono-basichttp-add');
    expect(rewriteAddressingTo(c.request, 'urn:x')).toEqual({ body: c.request, previous: undefined });
  });

  it('splices UTF-16 messages in UTF-16', () => {
    const xml = `<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA10_NS}"><s:Header><a:To>urn:old-é</a:To></s:Header><s:Body/></s:Envelope>`;
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const out = rewriteAddressingTo(utf16, 'urn:new-世');
    expect(out.previous).toBe('urn:old-é');
    expect(scanEnvelope(out.body).addressing?.to).toBe('urn:new-世');
  });
});

describe('mayHaveAddressing', () => {
  it('is false only for UTF-8 messages without either addressing namespace', () => {
    expect(mayHaveAddressing(Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body><op/></s:Body></s:Envelope>`))).toBe(false);
    expect(mayHaveAddressing(Buffer.from(`<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA10_NS}"><s:Header><a:To>x</a:To></s:Header><s:Body/></s:Envelope>`))).toBe(true);
    expect(mayHaveAddressing(Buffer.from(`<s:Envelope xmlns:s="${S11}" xmlns:a="${WSA200408_NS}"><s:Body/></s:Envelope>`))).toBe(true);
    expect(mayHaveAddressing(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body/></s:Envelope>`, 'utf16le')]))).toBe(true);
  });
});
