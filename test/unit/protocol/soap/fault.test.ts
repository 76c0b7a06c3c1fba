import { ProtocolError, RelayError } from '../../../../src/core/errors';
import { WCF_DISPATCHER_FAULT_ACTION, WCF_DISPATCHER_NS, WSA10_NS } from '../../../../src/protocol/soap/addressing';
import { inspectEnvelope } from '../../../../src/protocol/soap/soap-message';
import { buildFault, faultFromError, parseFault, RELAYBRIDGE_FAULT_NS } from '../../../../src/protocol/soap/fault';
import { elementText } from '../../../../src/protocol/xml/tree';
import { parseXml } from '../../../../src/protocol/xml/text-reader';
import { canonicalMono, loadCase } from './fixtures';

const S11 = 'http://schemas.xmlsoap.org/soap/envelope/';
const S12 = 'http://www.w3.org/2003/05/soap-envelope';

describe('parseFault on the captured Mono faults', () => {
  it('SOAP 1.1 typed fault (FaultException<CalcFault> with a custom code)', () => {
    const f = parseFault(loadCase('mono-basichttp-divide-typed-fault').response!)!;
    expect(f).toMatchObject({
      soapVersion: 'soap11',
      code: { prefix: 'a', localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' },
      kind: undefined,
      subcodes: [],
      reason: 'Cannot divide by zero',
      lang: '',
      action: undefined, // the Action header is in WCF's "addressing none" namespace, not WS-Addressing
    });
    expect(f.detail?.children[0]).toMatchObject({ kind: 'element', localName: 'CalcFault', namespaceUri: 'http://example.org/calc/data' });
    expect(elementText(f.detail!)).toBe('Dividedivision by zero');
  });

  it('SOAP 1.1 InternalServiceFault', () => {
    const f = parseFault(loadCase('mono-basichttp-fail-internal-fault').response!)!;
    expect(f.code).toEqual({ prefix: 'a', localName: 'InternalServiceFault', namespaceUri: 'http://schemas.microsoft.com/ws/2005/05/addressing/none' });
    expect(f.reason).toBe('Fail: boom');
    expect(elementText(f.detail!)).toContain('System.ServiceModel.FaultException');
  });

  it('SOAP 1.2 faults (Mono writes the custom code straight into Code/Value)', () => {
    const typed = parseFault(loadCase('mono-wshttp-divide-typed-fault').response!)!;
    expect(typed).toMatchObject({
      soapVersion: 'soap12',
      code: { localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' },
      reason: 'Cannot divide by zero',
      action: 'http://example.org/calcICalculator/DivideCalcFaultFault',
      relatesTo: undefined,
    });
    const internal = parseFault(loadCase('mono-wshttp-fail-internal-fault').response!)!;
    expect(internal).toMatchObject({ code: { localName: 'InternalServiceFault', namespaceUri: WSA10_NS }, reason: 'Fail: boom', action: 'http://example.org/calc/ICalculator/Fail' });
  });

  it('is undefined for a normal response', () => {
    expect(parseFault(loadCase('mono-wshttp-add').response!)).toBeUndefined();
  });

  it('throws ProtocolError for a non-SOAP message', () => {
    expect(() => parseFault('<x/>')).toThrow(ProtocolError);
  });
});

describe('buildFault', () => {
  it('SOAP 1.1 Client fault: 500, text/xml, structure as WCF/Mono write it', () => {
    const f = buildFault({ soapVersion: 'soap11', code: 'Sender', reason: 'No such endpoint' });
    expect(f.httpStatus).toBe(500);
    expect(f.contentType).toBe('text/xml; charset=utf-8');
    expect(f.body.toString()).toBe(`<s:Envelope xmlns:s="${S11}"><s:Body><s:Fault><faultcode>s:Client</faultcode>` +
      '<faultstring xml:lang="en-US">No such endpoint</faultstring></s:Fault></s:Body></s:Envelope>');
    expect(parseFault(f.body)).toMatchObject({ kind: 'Sender', code: { localName: 'Client', namespaceUri: S11 }, reason: 'No such endpoint' });
  });

  it('SOAP 1.1 with a subcode writes the subcode as faultcode (WCF Soap11 writer) and a detail', () => {
    const f = buildFault({ soapVersion: 'soap11', code: 'Receiver', subcode: { namespaceUri: 'http://example.org/calc/faults', localName: 'DivideByZero' },
      reason: 'Cannot divide by zero', lang: '',
      detail: '<CalcFault xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://example.org/calc/data"><Operation>Divide</Operation><Problem>division by zero</Problem></CalcFault>' });
    // Same Body as Mono's captured typed fault (Mono adds an "addressing none" Action header).
    const captured = canonicalMono(loadCase('mono-basichttp-divide-typed-fault').response!);
    const body = captured.slice(captured.indexOf('<s:Body>'), captured.indexOf('</s:Body>') + 9);
    expect(f.body.toString()).toBe(`<s:Envelope xmlns:s="${S11}">${body}</s:Envelope>`);
  });

  it('SOAP 1.2 Receiver + InternalServiceFault subcode with WS-Addressing, as wcf-wire.md §4.4', () => {
    const f = buildFault({
      soapVersion: 'soap12',
      code: 'Receiver',
      subcode: { namespaceUri: WCF_DISPATCHER_NS, localName: 'InternalServiceFault' },
      reason: 'Fail: <boom> & "more"',
      addressing: { version: 'wsa10', relatesTo: 'urn:uuid:c2e7c59e-dd22-4aab-bbf1-b0c09bac69f6', action: WCF_DISPATCHER_FAULT_ACTION },
    });
    expect(f.httpStatus).toBe(500); // the SOAP 1.2 captures answer faults with 500 too
    expect(f.contentType).toBe('application/soap+xml; charset=utf-8');
    expect(f.action).toBe(WCF_DISPATCHER_FAULT_ACTION);
    const info = inspectEnvelope(f.body, f.contentType, undefined);
    expect(info).toMatchObject({ soapVersion: 'soap12', isFault: true, action: WCF_DISPATCHER_FAULT_ACTION, addressing: { relatesTo: 'urn:uuid:c2e7c59e-dd22-4aab-bbf1-b0c09bac69f6' } });
    expect(info.headers.find((h) => h.localName === 'Action')?.mustUnderstand).toBe(true);
    const parsed = parseFault(f.body)!;
    expect(parsed).toMatchObject({
      kind: 'Receiver',
      code: { localName: 'Receiver', namespaceUri: S12 },
      subcodes: [{ localName: 'InternalServiceFault', namespaceUri: WCF_DISPATCHER_NS }],
      reason: 'Fail: <boom> & "more"',
      lang: 'en-US',
      relatesTo: 'urn:uuid:c2e7c59e-dd22-4aab-bbf1-b0c09bac69f6',
    });
    expect(f.body.toString()).toContain('<s:Text xml:lang="en-US">Fail: &lt;boom&gt; &amp; "more"</s:Text>');
  });

  it('defaults the Action to the addressing fault action', () => {
    expect(buildFault({ soapVersion: 'soap12', code: 'Sender', reason: 'x', addressing: { version: 'wsa10' } }).action).toBe('http://www.w3.org/2005/08/addressing/soap/fault');
    expect(buildFault({ soapVersion: 'soap12', code: 'Sender', reason: 'x', addressing: { version: 'wsa200408' } }).action).toBe('http://schemas.xmlsoap.org/ws/2004/08/addressing/fault');
  });

  it('has the same shape as the captured SOAP 1.2 faults, apart from Mono\'s non-standard Code', () => {
    const captured = parseFault(loadCase('mono-wshttp-divide-typed-fault').response!)!;
    const ours = parseFault(buildFault({ soapVersion: 'soap12', code: 'Sender', subcode: captured.code, reason: captured.reason, lang: captured.lang,
      detail: '<CalcFault xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://example.org/calc/data"><Operation>Divide</Operation><Problem>division by zero</Problem></CalcFault>' }).body)!;
    expect(ours.subcodes[0]).toMatchObject({ localName: captured.code.localName, namespaceUri: captured.code.namespaceUri });
    expect(ours.reason).toBe(captured.reason);
    expect(elementText(ours.detail!)).toBe(elementText(captured.detail!));
  });

  it('accepts detail tokens, and refuses a detail string that is not well-formed', () => {
    const f = buildFault({ soapVersion: 'soap12', code: 'Sender', reason: 'x', detail: parseXml('<d xmlns="urn:d">1</d>') });
    expect(f.body.toString()).toContain('<s:Detail><d xmlns="urn:d">1</d></s:Detail>');
    expect(() => buildFault({ soapVersion: 'soap12', code: 'Sender', reason: 'x', detail: '<a><b></a>' })).toThrow(ProtocolError);
    expect(() => buildFault({ soapVersion: 'soap12', code: 'Sender', reason: 'x', detail: '</Detail><s:Injected/>' })).toThrow(ProtocolError);
  });

  it('faultFromError uses the error\'s soapFaultCode and code', () => {
    const err = new RelayError('RELAY_ERR_NO_LISTENER', 'No listener for /calc');
    const f = faultFromError(err, 'soap12', { addressing: { version: 'wsa10', messageId: 'urn:uuid:1' } });
    expect(parseFault(f.body)).toMatchObject({
      kind: 'Receiver',
      subcodes: [{ localName: 'RELAY_ERR_NO_LISTENER', namespaceUri: RELAYBRIDGE_FAULT_NS }],
      reason: 'No listener for /calc',
      relatesTo: 'urn:uuid:1',
    });
    const f11 = faultFromError(new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'bad'), 'soap11');
    expect(parseFault(f11.body)).toMatchObject({ code: { localName: 'RELAY_ERR_PROTOCOL_INVALID_MESSAGE', namespaceUri: RELAYBRIDGE_FAULT_NS }, reason: 'bad' });
  });
});
