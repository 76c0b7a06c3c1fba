/** Metadata address rewriting (src/relay/endpoints/http-soap/metadata/rewrite.ts). */
import { rewriteMetadata } from '../../../../src/relay/endpoints/http-soap/metadata/rewrite';

const WSDL_NS = 'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"';
const doc = (inner: string): Buffer => Buffer.from(`<?xml version="1.0" encoding="utf-8"?><wsdl:definitions ${WSDL_NS}>${inner}</wsdl:definitions>`);
const rewrite = (inner: string, documentUrl = 'https://relay.example.com/calc', linkQuery?: string): string =>
  rewriteMetadata(doc(inner), { documentUrl, linkQuery }).body.toString('utf8');

describe('rewriteMetadata', () => {
  it('maps a service address on the document path to the relay path', () => {
    const out = rewrite('<wsdl:service><wsdl:port><soap:address location="http://10.0.0.5:8080/Calc.svc"/></wsdl:port></wsdl:service>');
    expect(out).toContain('<soap:address location="https://relay.example.com/calc"/>');
  });

  it('keeps the part of an address below the document path (several endpoints)', () => {
    const out = rewrite(
      '<wsdl:import namespace="n" location="http://svc:8080/Calc.svc?wsdl=wsdl0"/>' +
        '<wsdl:service><wsdl:port><soap:address location="http://svc:8080/Calc.svc/basic"/></wsdl:port>' +
        '<wsdl:port><soap12:address location="http://svc:8080/Calc.svc/ws"/></wsdl:port></wsdl:service>',
    );
    expect(out).toContain('location="https://relay.example.com/calc?wsdl=wsdl0"');
    expect(out).toContain('<soap:address location="https://relay.example.com/calc/basic"/>');
    expect(out).toContain('<soap12:address location="https://relay.example.com/calc/ws"/>');
  });

  it('maps an address at another path of the service origin to the document URL (node-soap WSDL files)', () => {
    const out = rewrite('<wsdl:service><wsdl:port><soap:address location="http://localhost:8000/wsdl"/></wsdl:port></wsdl:service>', 'http://relay:9443/team/calc');
    expect(out).toContain('<soap:address location="http://relay:9443/team/calc"/>');
  });

  it('rewrites xsd:import, xsd:include and xsd:redefine on the service origin, keeps third-party and relative ones', () => {
    const out = rewrite(
      '<wsdl:service><wsdl:port><soap:address location="http://svc/S.svc"/></wsdl:port></wsdl:service>' +
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import schemaLocation="http://svc/S.svc?xsd=xsd0"/>' +
        '<xs:include schemaLocation="http://svc/S.svc?xsd=xsd1"/><xs:redefine schemaLocation="http://svc/S.svc?xsd=xsd2"/>' +
        '<xs:import schemaLocation="http://www.w3.org/2005/05/xmlmime"/><xs:import schemaLocation="types.xsd"/></xs:schema>',
    );
    expect(out).toContain('schemaLocation="https://relay.example.com/calc?xsd=xsd0"');
    expect(out).toContain('schemaLocation="https://relay.example.com/calc?xsd=xsd1"');
    expect(out).toContain('schemaLocation="https://relay.example.com/calc?xsd=xsd2"');
    expect(out).toContain('schemaLocation="http://www.w3.org/2005/05/xmlmime"');
    expect(out).toContain('schemaLocation="types.xsd"');
  });

  it('rewrites EndpointReference addresses (both WS-Addressing versions) and Identity/Dns', () => {
    const out = rewrite(
      '<wsdl:service><wsdl:port><soap12:address location="http://svc/S.svc"/>' +
        '<wsa10:EndpointReference xmlns:wsa10="http://www.w3.org/2005/08/addressing"><wsa10:Address> http://svc/S.svc </wsa10:Address>' +
        '<Identity xmlns="http://schemas.xmlsoap.org/ws/2006/02/addressingidentity"><Dns>svc.internal</Dns></Identity></wsa10:EndpointReference>' +
        '<wsa:EndpointReference xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"><wsa:Address>http://svc/S.svc/x</wsa:Address></wsa:EndpointReference>' +
        '</wsdl:port></wsdl:service>',
    );
    expect(out).toContain('<wsa10:Address>https://relay.example.com/calc</wsa10:Address>');
    expect(out).toContain('<wsa:Address>https://relay.example.com/calc/x</wsa:Address>');
    expect(out).toContain('<Dns>relay.example.com</Dns>');
  });

  it('leaves non-http addresses (net.tcp) alone', () => {
    const out = rewrite('<wsdl:service><wsdl:port><soap12:address location="net.tcp://svc:808/S.svc"/></wsdl:port></wsdl:service>');
    expect(out).toContain('location="net.tcp://svc:808/S.svc"');
  });

  it('adds a link query to metadata links only, escaped', () => {
    const out = rewrite(
      '<wsdl:import location="http://svc/S.svc?wsdl=wsdl0"/><wsdl:service><wsdl:port><soap:address location="http://svc/S.svc"/></wsdl:port></wsdl:service>',
      'https://relay.example.com/calc',
      'sb-hc-token=a%20b',
    );
    expect(out).toContain('location="https://relay.example.com/calc?wsdl=wsdl0&amp;sb-hc-token=a%20b"');
    expect(out).toContain('<soap:address location="https://relay.example.com/calc"/>');
  });

  it('keeps everything else byte for byte, and returns the same buffer when nothing changes', () => {
    const input = doc('<!-- c --><wsdl:types a="1"   b=\'2\'/>');
    const r = rewriteMetadata(input, { documentUrl: 'https://r/x' });
    expect(r.rewritten).toBe(0);
    expect(r.body).toBe(input);
    const withAddress = doc('<!-- keep &amp; --><wsdl:service><wsdl:port><soap:address   location=\'http://svc/a\' /></wsdl:port></wsdl:service>');
    const out = rewriteMetadata(withAddress, { documentUrl: 'https://r/x' }).body.toString();
    expect(out).toBe(withAddress.toString().replace("location='http://svc/a'", 'location="https://r/x"'));
  });

  it('writes UTF-16 documents back in UTF-16', () => {
    const text = `\ufeff<?xml version="1.0" encoding="utf-16"?><wsdl:definitions ${WSDL_NS}><wsdl:service><wsdl:port><soap:address location="http://svc/S"/></wsdl:port></wsdl:service></wsdl:definitions>`;
    const out = rewriteMetadata(Buffer.from(text, 'utf16le'), { documentUrl: 'https://r/x' }).body;
    expect(out[0]).toBe(0xff);
    expect(out.toString('utf16le')).toContain('location="https://r/x"');
  });

  it('refuses documents that are not XML (DOCTYPE, malformed)', () => {
    expect(() => rewriteMetadata(Buffer.from('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), { documentUrl: 'https://r/x' })).toThrow(/DOCTYPE|markup/i);
    expect(() => rewriteMetadata(Buffer.from('<a><b></a>'), { documentUrl: 'https://r/x' })).toThrow();
  });
});
