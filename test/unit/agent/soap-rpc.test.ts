/** The IPC target's envelope codec: arguments out of requests, replies and faults into envelopes. */
import { buildRpcFault, buildRpcReply, readRpcCall } from '../../../src/agent/ipc/soap-rpc';
import { parseFault } from '../../../src/protocol/soap/fault';
import { scanEnvelope } from '../../../src/protocol/soap/envelope';

const S11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const env11 = (body: string) => Buffer.from(`<s:Envelope xmlns:s="${S11}"><s:Body>${body}</s:Body></s:Envelope>`);

describe('readRpcCall', () => {
  it('reads the operation element and its arguments (nested, repeated, nil)', () => {
    const call = readRpcCall(
      env11(
        '<Op xmlns="urn:ns" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><a>1</a><rec><Id>4</Id><Tags>x</Tags><Tags>y</Tags></rec><none i:nil="true"/><empty/></Op>',
      ),
    );
    expect(call).toEqual({ element: 'Op', namespace: 'urn:ns', args: { a: '1', rec: { Id: '4', Tags: ['x', 'y'] }, none: null, empty: '' } });
  });
  it('an empty Body is a ProtocolError', () => {
    expect(() => readRpcCall(env11(''))).toThrow(/no operation element/);
  });
  it('a nil attribute outside the XSI namespace is data', () => {
    expect(readRpcCall(env11('<Op xmlns="urn:ns" xmlns:q="urn:other"><a q:nil="true">v</a></Op>')).args).toEqual({ a: 'v' });
  });
});

describe('buildRpcReply', () => {
  it('SOAP 1.1: {Op}Response/{Op}Result in the request namespace, escaped', () => {
    const xml = buildRpcReply({ soapVersion: 'soap11', operation: 'Echo', namespace: 'urn:ns', result: 'a<b&c' }).toString();
    expect(xml).toContain('<EchoResponse xmlns="urn:ns"><EchoResult>a&lt;b&amp;c</EchoResult></EchoResponse>');
    expect(scanEnvelope(xml).soapVersion).toBe('soap11');
  });
  it('SOAP 1.2 with addressing: Action {request action}Response and RelatesTo', () => {
    const xml = buildRpcReply({
      soapVersion: 'soap12',
      operation: 'Add',
      namespace: 'urn:ns',
      result: 5,
      addressing: { version: 'wsa10', namespace: 'http://www.w3.org/2005/08/addressing', action: 'urn:ns/I/Add', messageId: 'urn:uuid:9' },
    });
    expect(scanEnvelope(xml).addressing).toMatchObject({ action: 'urn:ns/I/AddResponse', relatesTo: 'urn:uuid:9' });
  });
  it('void results give an empty wrapper; bare results skip {Op}Result', () => {
    expect(buildRpcReply({ soapVersion: 'soap11', operation: 'Fail', namespace: 'urn:ns', result: undefined }).toString()).toContain('<FailResponse xmlns="urn:ns"/>');
    expect(buildRpcReply({ soapVersion: 'soap11', operation: 'Get', namespace: 'urn:ns', result: { A: 1, B: [true, false] }, bare: true }).toString()).toContain(
      '<GetResponse xmlns="urn:ns"><A>1</A><B>true</B><B>false</B></GetResponse>',
    );
  });
});

describe('buildRpcFault', () => {
  it('typed faults keep subcode, detail and action', () => {
    const f = buildRpcFault(
      'soap12',
      { code: 'Sender', reason: 'bad', subcode: { namespaceUri: 'urn:f', localName: 'Bad' }, detail: '<D xmlns="urn:d"><x>1</x></D>', action: 'urn:a/Fault' },
      { version: 'wsa10', namespace: 'http://www.w3.org/2005/08/addressing', messageId: 'urn:uuid:7' },
    );
    expect(parseFault(f.body)).toMatchObject({ kind: 'Sender', reason: 'bad', action: 'urn:a/Fault', relatesTo: 'urn:uuid:7', subcodes: [{ localName: 'Bad', namespaceUri: 'urn:f' }] });
    expect(f.body.toString()).toContain('<D xmlns="urn:d"><x>1</x></D>');
  });
  it('detail that is not well-formed XML is refused', () => {
    expect(() => buildRpcFault('soap11', { reason: 'r', detail: '<a>' }, undefined)).toThrow();
  });
});
