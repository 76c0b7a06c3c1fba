/**
 * TokenSoapMessage: a binary (token) envelope read once by the shared head reader; its edits
 * splice token ranges, and the ranges it reports after an edit are where a fresh read finds them.
 */
import { TokenSoapMessage, xmlToBinary, decodeEnvelope } from '../../../../src/protocol/soap-binary';
import { WCF_DISPATCHER_FAULT_ACTION } from '../../../../src/protocol/soap/addressing';
import { parseXml } from '../../../../src/protocol/xml/text-reader';
import { writeXml } from '../../../../src/protocol/xml/text-writer';
import { requestEnvelope } from '../../../helpers/net-tcp-client';

const S12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSA = 'http://www.w3.org/2005/08/addressing';

function expectConsistent(m: TokenSoapMessage): void {
  const fresh = TokenSoapMessage.read(m.tokens);
  expect({ header: m.header, headers: m.headers, body: m.body, addressing: m.addressing }).toEqual({
    header: fresh.header,
    headers: fresh.headers,
    body: fresh.body,
    addressing: fresh.addressing,
  });
}

describe('TokenSoapMessage', () => {
  const request = requestEnvelope({ action: 'urn:a', to: 'net.tcp://x/y', body: '<Op xmlns="urn:o"><MessageID>not a header</MessageID></Op>', messageId: 'urn:uuid:1', token: 'SharedAccessSignature sr=x' });

  it('reads a WCF-style binary request: action, MessageID, the relay token', () => {
    const m = TokenSoapMessage.read(decodeEnvelope(Buffer.concat(xmlToBinary(request))));
    expect(m).toMatchObject({ envelopeNamespace: S12, envelopePrefix: 's', soapVersion: 'soap12' });
    expect(m.addressing).toMatchObject({ action: 'urn:a', messageId: 'urn:uuid:1', to: 'net.tcp://x/y' });
    expect(m.relayToken).toBe('SharedAccessSignature sr=x');
  });

  it('removes the relay token and rewrites To without walking the tokens again', () => {
    const m = TokenSoapMessage.read(parseXml(request)).withoutRelayAccessToken();
    expectConsistent(m);
    expect(m.relayToken).toBeUndefined();
    const to = m.withTo('http://service/calc');
    expectConsistent(to);
    const out = writeXml(to.tokens);
    expect(out).not.toContain('RelayAccessToken');
    expect(out).toContain('<a:To s:mustUnderstand="1">http://service/calc</a:To>');
    expect(out).toContain('<MessageID>not a header</MessageID>');
  });

  it('adds RelatesTo and Action to a reply that lacks them, into its Header or a new one', () => {
    const withHeader = TokenSoapMessage.read(parseXml(`<s:Envelope xmlns:s="${S12}"><s:Header><x xmlns="urn:x">1</x></s:Header><s:Body><R xmlns="urn:o"/></s:Body></s:Envelope>`));
    const a = withHeader.withReplyAddressing({ action: 'urn:a', messageId: 'urn:uuid:1' });
    expectConsistent(a);
    expect(a.addressing).toMatchObject({ action: 'urn:aResponse', relatesTo: 'urn:uuid:1' });
    expect(a.withReplyAddressing({ action: 'urn:a', messageId: 'urn:uuid:1' })).toBe(a);

    const bare = TokenSoapMessage.read(parseXml(`<e:Envelope xmlns:e="${S12}"><e:Body><e:Fault/></e:Body></e:Envelope>`));
    const b = bare.withReplyAddressing({ action: 'urn:a', messageId: 'urn:uuid:2' });
    expectConsistent(b);
    expect(b.addressing).toMatchObject({ action: WCF_DISPATCHER_FAULT_ACTION, relatesTo: 'urn:uuid:2' });
    expect(writeXml(b.tokens)).toMatch(/^<e:Envelope[^>]*><e:Header><Action xmlns="http:\/\/www.w3.org\/2005\/08\/addressing">/);
  });

  it('keeps a reply that has its addressing, and resolves prefixes by namespace', () => {
    const reply = TokenSoapMessage.read(parseXml(`<e:Envelope xmlns:e="${S12}"><e:Header><w:Action xmlns:w="${WSA}">r</w:Action><w:RelatesTo xmlns:w="${WSA}">urn:uuid:2</w:RelatesTo><a:RelatesTo xmlns:a="urn:other">no</a:RelatesTo></e:Header><e:Body/></e:Envelope>`));
    expect(reply.addressing?.relatesTo).toBe('urn:uuid:2');
    expect(reply.withReplyAddressing({ action: 'urn:a', messageId: 'urn:uuid:2' })).toBe(reply);
  });

  it('reads the head of a prefix, and refuses what is no envelope', () => {
    const tokens = parseXml(request);
    const bodyAt = tokens.findIndex((t) => t.kind === 'startElement' && t.localName === 'Body');
    expect(TokenSoapMessage.readHead(tokens.slice(0, bodyAt))).toBeUndefined();
    expect(TokenSoapMessage.readHead(tokens.slice(0, bodyAt + 3))?.relayToken).toBe('SharedAccessSignature sr=x');
    expect(() => TokenSoapMessage.read(parseXml('<html><body/></html>'))).toThrow(/not a SOAP 1.1 or 1.2 Envelope/);
    expect(() => TokenSoapMessage.read(tokens.slice(0, bodyAt))).toThrow(/no Body/);
  });
});
