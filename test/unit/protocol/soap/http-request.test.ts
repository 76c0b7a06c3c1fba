/** Which requests the SOAP endpoint takes (src/relay/endpoints/http-soap/soap-request.ts). */
import { classifySoapHttpRequest, parseMetadataQuery } from '../../../../src/protocol/soap/http-request';

const classifySoapRequest = (method: string, search: string, headers: Record<string, string>) => {
  const kind = classifySoapHttpRequest(method, search, (name) => headers[name]);
  return kind?.kind === 'xml' ? undefined : kind;
};
import { MetadataCache } from '../../../../src/relay/endpoints/http-soap/metadata/metadata-cache';

describe('classifySoapRequest', () => {
  it('takes SOAP 1.2 by Content-Type and SOAP 1.1 by SOAPAction', () => {
    expect(classifySoapRequest('POST', '', { 'content-type': 'application/soap+xml; charset=utf-8; action="a"' })).toEqual({ kind: 'soap', version: 'soap12', mtom: false });
    expect(classifySoapRequest('POST', '', { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' })).toEqual({ kind: 'soap', version: 'soap11', mtom: false });
    expect(classifySoapRequest('POST', '', { 'content-type': 'application/json', soapaction: 'x' })).toEqual({ kind: 'soap', version: 'soap11', mtom: false });
  });

  it('leaves text/xml without SOAPAction, other methods and other types to the plain relay', () => {
    expect(classifySoapRequest('POST', '', { 'content-type': 'text/xml' })).toBeUndefined();
    expect(classifySoapRequest('PUT', '', { 'content-type': 'application/soap+xml' })).toBeUndefined();
    expect(classifySoapRequest('POST', '', { 'content-type': 'application/json' })).toBeUndefined();
    expect(classifySoapRequest('POST', '', {})).toBeUndefined();
    expect(classifySoapRequest('GET', '?x=1', {})).toBeUndefined();
  });

  it('takes MTOM as a stream, with the version from start-info', () => {
    const ct = 'multipart/related; type="application/xop+xml"; start="<http://tempuri.org/0>"; boundary="uuid:1"; start-info="application/soap+xml"';
    expect(classifySoapRequest('POST', '', { 'content-type': ct })).toEqual({ kind: 'soap', version: 'soap12', mtom: true });
    expect(classifySoapRequest('POST', '', { 'content-type': 'multipart/related; type="application/xop+xml"; start-info="text/xml"', soapaction: '"a"' })).toEqual({ kind: 'soap', version: 'soap11', mtom: true });
  });

  it('takes metadata GETs and HEADs in any case, with relay parameters beside them', () => {
    expect(classifySoapRequest('GET', '?WSDL', {})).toEqual({ kind: 'metadata', query: { name: 'wsdl', value: '', key: 'wsdl' } });
    expect(classifySoapRequest('HEAD', '?singleWsdl', {})).toEqual({ kind: 'metadata', query: { name: 'singlewsdl', value: '', key: 'singlewsdl' } });
    expect(parseMetadataQuery('?Xsd=xsd0&sb-hc-token=abc')).toEqual({ name: 'xsd', value: 'xsd0', key: 'xsd=xsd0' });
    expect(parseMetadataQuery('wsdl=wsdl1')).toEqual({ name: 'wsdl', value: 'wsdl1', key: 'wsdl=wsdl1' });
  });

  it('refuses other metadata-looking queries', () => {
    for (const q of ['', '?', '?xsd', '?xsd=', '?singleWsdl=1', '?wsdl&x=1', '?wsdl&xsd=xsd0', '?wsdl=a/b', '?wsdl=%ZZ', `?wsdl=${'a'.repeat(3000)}`, '?disco']) {
      expect(parseMetadataQuery(q)).toBeUndefined();
    }
  });
});

describe('MetadataCache', () => {
  const doc = (n: number, size = 10) => ({ body: Buffer.alloc(size, n), contentType: 'text/xml', storedAt: n });

  it('keeps documents per path (case-insensitive) and query, least recently used out first', async () => {
    const cache = new MetadataCache({ maxEntries: 2, maxBytes: 1000 });
    await cache.put('Calc', 'wsdl', doc(1));
    await cache.put('calc', 'xsd=xsd0', doc(2));
    expect((await cache.get('CALC', 'wsdl'))?.storedAt).toBe(1); // now most recent
    await cache.put('other', 'wsdl', doc(3));
    expect(await cache.get('calc', 'xsd=xsd0')).toBeUndefined();
    expect((await cache.get('calc', 'wsdl'))?.storedAt).toBe(1);
    expect(cache.size).toBe(2);
  });

  it('bounds total bytes, refuses a document bigger than the budget, and can be disabled', async () => {
    const cache = new MetadataCache({ maxEntries: 10, maxBytes: 25 });
    await cache.put('a', 'wsdl', doc(1));
    await cache.put('b', 'wsdl', doc(2));
    await cache.put('c', 'wsdl', doc(3));
    expect(cache.bytes).toBeLessThanOrEqual(25);
    expect(await cache.get('a', 'wsdl')).toBeUndefined();
    await cache.put('d', 'wsdl', doc(4, 26));
    expect(await cache.get('d', 'wsdl')).toBeUndefined();
    const off = new MetadataCache({ maxEntries: 0, maxBytes: 100 });
    await off.put('a', 'wsdl', doc(1));
    expect(await off.get('a', 'wsdl')).toBeUndefined();
  });

  it('reads through to and writes through a backing', async () => {
    const stored = new Map<string, ReturnType<typeof doc>>();
    const backing = {
      get: async (p: string, k: string) => stored.get(`${p} ${k}`),
      put: async (p: string, k: string, d: ReturnType<typeof doc>) => void stored.set(`${p} ${k}`, d),
    };
    const a = new MetadataCache({ maxEntries: 5, maxBytes: 100, backing });
    await a.put('Calc', 'wsdl', doc(7));
    expect(stored.has('calc wsdl')).toBe(true);
    const b = new MetadataCache({ maxEntries: 5, maxBytes: 100, backing });
    expect((await b.get('calc', 'wsdl'))?.storedAt).toBe(7);
  });
});
