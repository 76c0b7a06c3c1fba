/** The binary SOAP extension's offer and content type (protocol/hyco/binary-soap.ts). */
import { isBinarySoapContentType, offersBinarySoap, SOAP_BINARY_CONTENT_TYPE } from '../../../../src/protocol/hyco';

describe('binary SOAP between relay and agent', () => {
  it('reads the content type with any case and parameters, and nothing else as binary', () => {
    expect(isBinarySoapContentType(SOAP_BINARY_CONTENT_TYPE)).toBe(true);
    expect(isBinarySoapContentType(' Application/SOAP+MSBIN1 ; charset=utf-8')).toBe(true);
    for (const ct of [undefined, '', 'application/soap+xml', 'application/soap+msbinsession1', 'application/soap+msbin1x', 'text/xml']) {
      expect(isBinarySoapContentType(ct)).toBe(false);
    }
  });

  it('reads the offer from the upgrade header: msbin1 among a comma list, repeated headers; absent or other values are no offer', () => {
    expect(offersBinarySoap('msbin1')).toBe(true);
    expect(offersBinarySoap(' other , MSBIN1')).toBe(true);
    expect(offersBinarySoap(['x', 'msbin1'])).toBe(true);
    expect(offersBinarySoap(undefined)).toBe(false);
    expect(offersBinarySoap('')).toBe(false);
    expect(offersBinarySoap('msbinsession1')).toBe(false);
  });
});
