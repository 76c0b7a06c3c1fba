/** readEnvelopeHead: SOAP envelope head from tokens (net.tcp endpoint hot path). */
import { parseXml } from '../../../../src/protocol/xml/text-reader';
import { writeXml } from '../../../../src/protocol/xml/text-writer';
import { readEnvelopeHead } from '../../../../src/relay/endpoints/net-tcp/envelope-head';
import { requestEnvelope } from '../../../helpers/net-tcp-client';

describe('readEnvelopeHead', () => {
  it('reads Action, MessageID and the RelayAccessToken range of a WCF-style request', () => {
    const xml = requestEnvelope({ action: 'urn:a', to: 'net.tcp://x/y', body: '<Op xmlns="urn:o"><MessageID>not a header</MessageID></Op>', messageId: 'urn:uuid:1', token: 'SharedAccessSignature sr=x' });
    const tokens = parseXml(xml);
    const head = readEnvelopeHead(tokens);
    expect(head).toMatchObject({ envelopeNamespace: 'http://www.w3.org/2003/05/soap-envelope', envelopePrefix: 's', action: 'urn:a', messageId: 'urn:uuid:1' });
    expect(head.relayToken).toMatchObject({ base64: true });
    expect(Buffer.from(head.relayToken!.text, 'base64').toString()).toBe('SharedAccessSignature sr=x');
    tokens.splice(head.relayToken!.start, head.relayToken!.end - head.relayToken!.start + 1);
    const out = writeXml(tokens);
    expect(out).not.toContain('RelayAccessToken');
    expect(out).toContain('<a:To s:mustUnderstand="1">net.tcp://x/y</a:To>');
  });

  it('reads RelatesTo, finds Body when there is no Header, and resolves prefixes by namespace', () => {
    const reply = parseXml('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header><w:RelatesTo xmlns:w="http://www.w3.org/2005/08/addressing">urn:uuid:2</w:RelatesTo><a:RelatesTo xmlns:a="urn:other">no</a:RelatesTo></e:Header><e:Body/></e:Envelope>');
    expect(readEnvelopeHead(reply)).toMatchObject({ relatesTo: 'urn:uuid:2', headerContentIndex: 3 });
    const bare = parseXml('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x/></s:Body></s:Envelope>');
    const head = readEnvelopeHead(bare);
    expect(head.bodyIndex).toBe(2);
    expect(head.headerContentIndex).toBeUndefined();
    expect(head.relatesTo).toBeUndefined();
  });

  it('reports non-SOAP roots', () => {
    expect(readEnvelopeHead(parseXml('<html><body/></html>')).envelopeNamespace).toBeUndefined();
  });
});
