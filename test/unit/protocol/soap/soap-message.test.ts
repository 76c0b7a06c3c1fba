/**
 * SoapMessage: one scan, then edits that splice known ranges. After every edit the ranges it
 * reports must be exactly where a fresh scan of the edited bytes finds them.
 */
import { scanEnvelope } from '../../../../src/protocol/soap/envelope';
import { EnvelopeHeadReader } from '../../../../src/protocol/soap/envelope-head';
import { inspectEnvelope, SoapMessage } from '../../../../src/protocol/soap/soap-message';
import { parseXml, scanXml } from '../../../../src/protocol/xml/text-reader';
import { walkTokens } from '../../../../src/protocol/xml/token-walk';

const S12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSA = 'http://www.w3.org/2005/08/addressing';
const RC = 'http://schemas.microsoft.com/netservices/2009/05/servicebus/connect';

function envelope(opts: { token?: string; tokenBase64?: boolean; tokens?: number; to?: string; body?: string; utf16?: boolean } = {}): Buffer {
  const tokenHeader = (t: string): string =>
    opts.tokenBase64
      ? `<RelayAccessToken xmlns="${RC}"><wsse:BinarySecurityToken xmlns:wsse="urn:wsse" EncodingType="urn:x#Base64Binary">${Buffer.from(t).toString('base64')}</wsse:BinarySecurityToken></RelayAccessToken>`
      : `<RelayAccessToken xmlns="${RC}">${t}</RelayAccessToken>`;
  const tokens = opts.token === undefined ? '' : Array.from({ length: opts.tokens ?? 1 }, (_, i) => tokenHeader(i === 0 ? opts.token! : `other-${i}`)).join('\n    ');
  const xml =
    `<?xml version="1.0"?>\n<s:Envelope xmlns:s="${S12}" xmlns:a="${WSA}">\n  <s:Header>\n    <a:Action s:mustUnderstand="1">urn:op</a:Action>\n    ${tokens}\n` +
    `    <a:MessageID>urn:uuid:1</a:MessageID>\n    <a:To s:mustUnderstand="1">${opts.to ?? 'https://relay/x'}</a:To>\n    <a:ReplyTo><a:Address>${WSA}/anonymous</a:Address></a:ReplyTo>\n  </s:Header>\n` +
    `  <s:Body>${opts.body ?? '<Op xmlns="urn:o"><v>ü € 𝄞</v></Op>'}</s:Body>\n</s:Envelope>\n`;
  if (!opts.utf16) return Buffer.from(xml, 'utf8');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
}

/** The message's structure equals a fresh scan of its bytes. */
function expectConsistent(m: SoapMessage): void {
  const fresh = scanEnvelope(m.bytes);
  expect({ header: m.header, headers: m.headers, body: m.body, addressing: m.addressing, isFault: m.isFault }).toEqual({
    header: fresh.header,
    headers: fresh.headers,
    body: fresh.body,
    addressing: fresh.addressing,
    isFault: fresh.isFault,
  });
}

describe('SoapMessage', () => {
  it('reads version, addressing and ranges in one scan', () => {
    const m = SoapMessage.read(envelope());
    expect(m.soapVersion).toBe('soap12');
    expect(m.addressing).toMatchObject({ version: 'wsa10', action: 'urn:op', messageId: 'urn:uuid:1', to: 'https://relay/x', replyTo: `${WSA}/anonymous` });
    expect(m.bytes.subarray(m.body.contentStart, m.body.contentEnd).toString()).toBe('<Op xmlns="urn:o"><v>ü € 𝄞</v></Op>');
    expect(m.headers.map((h) => h.localName)).toEqual(['Action', 'MessageID', 'To', 'ReplyTo']);
    expect(m.headers[0]!.mustUnderstand).toBe(true);
  });

  it('removes every RelayAccessToken header by splicing, and gives the first token', () => {
    for (const tokenBase64 of [false, true]) {
      const m = SoapMessage.read(envelope({ token: 'SharedAccessSignature sr=a%26sig=b', tokens: 3, tokenBase64 }));
      const { message, token } = m.withoutRelayAccessToken();
      expect(token).toBe('SharedAccessSignature sr=a%26sig=b');
      expect(message.bytes.toString()).not.toContain('RelayAccessToken');
      expect(message.bytes.toString()).toContain('<s:Body><Op xmlns="urn:o"><v>ü € 𝄞</v></Op></s:Body>');
      expectConsistent(message);
    }
  });

  it('a message without a token is returned as it is', () => {
    const m = SoapMessage.read(envelope());
    expect(m.withoutRelayAccessToken().message).toBe(m);
    expect(m.withoutHeaders(() => false)).toBe(m);
  });

  it('rewrites wsa:To (escaped, longer or shorter) and keeps every other byte', () => {
    const original = envelope({ token: 'tok' });
    for (const to of ['http://10.0.0.5:8080/svc?a=1&b=2', 'x', 'http://ünïcode/€']) {
      const m = SoapMessage.read(original).withTo(to);
      expect(m.addressing?.to).toBe(to);
      expect(m.bytes.toString()).toContain(`<a:To s:mustUnderstand="1">${to.replace(/&/g, '&amp;')}</a:To>`);
      expectConsistent(m);
      // Edits compose without a rescan: strip the token from the rewritten message.
      const both = m.withoutRelayAccessToken().message;
      expectConsistent(both);
      expect(both.addressing?.to).toBe(to);
    }
  });

  it('edits a UTF-16 message in its own encoding', () => {
    const m = SoapMessage.read(envelope({ utf16: true, token: 't' })).withTo('http://svc/ä');
    expectConsistent(m);
    const { message } = m.withoutRelayAccessToken();
    expectConsistent(message);
    expect(message.bytes.subarray(2).toString('utf16le')).toContain('<a:To s:mustUnderstand="1">http://svc/ä</a:To>');
  });

  it('keeps ranges right in a large message (the head-only fast path)', () => {
    const body = `<Op xmlns="urn:o">${'<v>x</v>'.repeat(5000)}</Op>`;
    const m = SoapMessage.read(envelope({ body, token: 'tok' })).withTo('http://svc/');
    expectConsistent(m);
    expect(m.bytes.subarray(m.body.contentStart, m.body.contentEnd).toString()).toBe(body);
  });

  it('inspectEnvelope hands over the scanned message for edits', () => {
    const info = inspectEnvelope(envelope({ token: 'tok' }), 'application/soap+xml; charset=utf-8; action="urn:op"', undefined);
    expect(info.action).toBe('urn:op');
    expect(info.message.soapVersion).toBe('soap12');
    expect(info.message.withoutRelayAccessToken().token).toBe('tok');
  });
});

describe('EnvelopeHeadReader', () => {
  it('reads text and the same document as tokens alike', () => {
    const xml = envelope({ token: 'tok', body: '<s:Fault><s:Code/></s:Fault>' });
    const fromText = new EnvelopeHeadReader();
    scanXml(xml, fromText.onToken);
    const fromTokens = new EnvelopeHeadReader();
    walkTokens(parseXml(xml), fromTokens.onToken);
    for (const r of [fromText, fromTokens]) {
      expect(r.soapVersion).toBe('soap12');
      expect(r.isFault).toBe(true);
      expect(r.headers.map((h) => [h.localName, h.text.trim()])).toEqual(fromText.headers.map((h) => [h.localName, h.text.trim()]));
    }
    expect(fromTokens.headers.map((h) => h.localName)).toEqual(['Action', 'RelayAccessToken', 'MessageID', 'To', 'ReplyTo']);
  });

  it('refuses what is not a SOAP envelope, naming it', () => {
    const r = new EnvelopeHeadReader();
    expect(() => scanXml('<html><body/></html>', r.onToken)).toThrow(/root element is \{\}html/);
    expect(r.notEnvelope).toBe(true);
    expect(() => scanXml(`<s:Envelope xmlns:s="${S12}"><s:Other/></s:Envelope>`, new EnvelopeHeadReader().onToken)).toThrow(/unexpected/);
    expect(() => scanXml(`<s:Envelope xmlns:s="${S12}">text<s:Body/></s:Envelope>`, new EnvelopeHeadReader().onToken)).toThrow(/text directly inside Envelope/);
  });

  it('stops after the block stopAfter picks, or at the Body start', () => {
    const r = new EnvelopeHeadReader({ stopAfter: (b) => b.localName === 'RelayAccessToken' });
    scanXml(envelope({ token: 'tok' }), r.onToken);
    expect(r.stoppedAt).toBe('block');
    expect(r.headers.map((h) => h.localName)).toEqual(['Action', 'RelayAccessToken']);
    const b = new EnvelopeHeadReader({ stopAt: 'body' });
    scanXml(envelope(), b.onToken);
    expect(b.stoppedAt).toBe('body');
    expect(b.bodyFirstChild).toBeUndefined();
    expect(b.headerDone).toBe(true);
  });
});
