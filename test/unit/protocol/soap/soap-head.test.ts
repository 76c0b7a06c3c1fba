import { scanSoapHead } from '../../../../src/protocol/soap/soap-head';

const S11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const CONNECT = 'http://schemas.microsoft.com/netservices/2009/05/servicebus/connect';
const B64 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
const tokenHeader = (t: string) =>
  `<RelayAccessToken xmlns="${CONNECT}"><wsse:BinarySecurityToken xmlns:wsse="x" EncodingType="${B64}">${Buffer.from(t).toString('base64')}</wsse:BinarySecurityToken></RelayAccessToken>`;
const env = (header: string, body = '<x/>') =>
  `<s:Envelope xmlns:s="${S11}" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:MessageID>urn:m1</a:MessageID>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`;

describe('scanSoapHead', () => {
  it('finds the token in a prefix, at every cut past its end', () => {
    const full = Buffer.from(env(tokenHeader('SharedAccessSignature sr=a&sig=b'), 'y'.repeat(1000)));
    const end = full.indexOf('</RelayAccessToken>') + '</RelayAccessToken>'.length;
    for (let cut = 0; cut < full.length; cut += 7) {
      const v = scanSoapHead(full.subarray(0, cut), false);
      if (cut < end) expect(v.state).toBe('incomplete');
      else {
        expect(v).toMatchObject({ state: 'token', token: 'SharedAccessSignature sr=a&sig=b' });
        expect(v.head.addressing).toEqual({ version: 'wsa10', messageId: 'urn:m1' });
      }
    }
  });

  it('says none at </Header> or <Body> without a token, invalid for a non-SOAP root', () => {
    expect(scanSoapHead(Buffer.from(env('')), false).state).toBe('none');
    expect(scanSoapHead(Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body>`), false).state).toBe('none');
    expect(scanSoapHead(Buffer.from('<html><body>'), false).state).toBe('invalid');
    expect(scanSoapHead(Buffer.from('garbage'), true).state).toBe('invalid');
  });

  it('never splits a UTF-8 character at the cut', () => {
    const full = Buffer.from(env(`<h>${'é'.repeat(50)}</h>${tokenHeader('t')}`));
    for (let cut = 60; cut < 200; cut++) expect(scanSoapHead(full.subarray(0, cut), false).state).toBe('incomplete');
  });
});
