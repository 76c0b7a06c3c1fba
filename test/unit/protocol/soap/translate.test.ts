import { ProtocolError } from '../../../../src/core/errors';
import { WCF_DISPATCHER_FAULT_ACTION } from '../../../../src/protocol/soap/addressing';
import { scanEnvelope } from '../../../../src/protocol/soap/envelope';
import { inspectEnvelope } from '../../../../src/protocol/soap/soap-message';
import { parseFault } from '../../../../src/protocol/soap/fault';
import {
  addressSoap12Fault,
  soap11RequestToSoap12,
  soap11ResponseToSoap12,
  soap12RequestToSoap11,
  soap12ResponseToSoap11,
} from '../../../../src/protocol/soap/translate';
import { elementText } from '../../../../src/protocol/xml/tree';
import { canonicalMono, loadCase } from './fixtures';

/** The same operation was captured over both bindings: mono-basichttp-X <-> mono-wshttp-X. */
const PAIRS = ['add', 'echo-unicode', 'echo-nil', 'process-datacontract', 'notify-oneway'];
const FAULT_PAIRS = ['divide-typed-fault', 'fail-internal-fault'];

describe('SOAP 1.2 + WS-Addressing request -> SOAP 1.1 (captured pairs)', () => {
  it.each(PAIRS.concat(FAULT_PAIRS))('%s gives exactly the captured BasicHttp request', (op) => {
    const ws = loadCase(`mono-wshttp-${op}`);
    const basic = loadCase(`mono-basichttp-${op}`);
    const out = soap12RequestToSoap11(ws.request);
    expect(out.body.toString()).toBe(canonicalMono(basic.request));
    expect(out.httpHeaders).toEqual({ 'Content-Type': basic.meta.request.headers['Content-Type'], SOAPAction: basic.meta.request.headers.SOAPAction });
    expect(out.addressing?.messageId).toMatch(/^urn:uuid:/);
    // and the result inspects as the captured 1.1 request does
    expect(inspectEnvelope(out.body, out.contentType, out.httpHeaders.SOAPAction).action).toBe(out.action);
  });

  it('keeps non-addressing headers and maps their SOAP attributes', () => {
    const msg = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>' +
      '<a:Action s:mustUnderstand="1">urn:op</a:Action><h:Custom xmlns:h="urn:h" s:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/next" s:relay="true">v</h:Custom>' +
      '</s:Header><s:Body><op xmlns="urn:x"/></s:Body></s:Envelope>';
    const out = soap12RequestToSoap11(msg);
    expect(out.body.toString()).toBe('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>' +
      '<h:Custom xmlns:h="urn:h" s:mustUnderstand="1" s:actor="http://schemas.xmlsoap.org/soap/actor/next">v</h:Custom>' +
      '</s:Header><s:Body><op xmlns="urn:x"/></s:Body></s:Envelope>');
    expect(out.httpHeaders.SOAPAction).toBe('"urn:op"');
  });

  it('uses the Content-Type action when there is no wsa:Action', () => {
    const out = soap12RequestToSoap11('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>', { action: 'urn:ct' });
    expect(out.httpHeaders.SOAPAction).toBe('"urn:ct"');
    expect(out.body.toString()).toBe('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>');
  });

  it('refuses a SOAP 1.1 input', () => {
    expect(() => soap12RequestToSoap11(loadCase('mono-basichttp-add').request)).toThrow(ProtocolError);
  });
});

describe('SOAP 1.1 request -> SOAP 1.2 + WS-Addressing (captured pairs)', () => {
  it.each(PAIRS.concat(FAULT_PAIRS))('%s gives exactly the captured WSHttp request', (op) => {
    const ws = loadCase(`mono-wshttp-${op}`);
    const basic = loadCase(`mono-basichttp-${op}`);
    const wsInfo = inspectEnvelope(ws.request, ws.meta.request.headers['Content-Type'], undefined);
    const out = soap11RequestToSoap12(basic.request, {
      action: JSON.parse(basic.meta.request.headers.SOAPAction!) as string,
      to: wsInfo.addressing!.to,
      newMessageId: () => wsInfo.addressing!.messageId!,
    });
    expect(out.body.toString()).toBe(canonicalMono(ws.request));
    expect(out.contentType).toBe(`application/soap+xml; charset=utf-8; action="${wsInfo.action}"`);
    expect(out.addressing).toMatchObject({ messageId: wsInfo.addressing!.messageId, to: wsInfo.addressing!.to });
  });

  it('one-way: no MessageID or ReplyTo (a one-way candidate)', () => {
    const out = soap11RequestToSoap12(loadCase('mono-basichttp-notify-oneway').request, { action: 'urn:notify', to: 'http://svc/calc', newMessageId: () => 'unused', oneWay: true });
    const info = inspectEnvelope(out.body, out.contentType, undefined);
    expect(info.headers.map((h) => h.localName)).toEqual(['Action', 'To']);
    expect(info.oneWayCandidate).toBe(true);
  });

  it('avoids a clashing prefix and handles a default-namespace envelope and an existing Header', () => {
    const msg = '<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:other"><Header><a:H>1</a:H></Header><Body><a:op/></Body></Envelope>';
    const out = soap11RequestToSoap12(msg, { action: 'urn:op', newMessageId: () => 'urn:uuid:1', addressingVersion: 'wsa200408' });
    const info = inspectEnvelope(out.body, out.contentType, undefined);
    expect(info.addressing).toMatchObject({ version: 'wsa200408', action: 'urn:op', messageId: 'urn:uuid:1', replyTo: 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous' });
    expect(info.headers.map((h) => h.localName)).toEqual(['Action', 'MessageID', 'ReplyTo', 'H']);
    expect(info.headers[0]!.mustUnderstand).toBe(true);
    expect(info.headers[3]!.namespaceUri).toBe('urn:other');
  });
});

describe('SOAP 1.1 response -> SOAP 1.2 + WS-Addressing response', () => {
  it.each(['add', 'echo-unicode', 'echo-nil', 'process-datacontract'])('%s gives exactly the captured WSHttp response', (op) => {
    const ws = loadCase(`mono-wshttp-${op}`);
    const basic = loadCase(`mono-basichttp-${op}`);
    const request = inspectEnvelope(ws.request, ws.meta.request.headers['Content-Type'], undefined);
    const out = soap11ResponseToSoap12(basic.response!, { request: { action: request.action, messageId: request.addressing!.messageId } });
    expect(out.body.toString()).toBe(canonicalMono(ws.response!));
    expect(out.isFault).toBe(false);
    expect(out.contentType).toBe(ws.meta.response.headers['Content-Type']);
  });

  it.each(FAULT_PAIRS)('%s: a standard SOAP 1.2 fault with the same reason, detail and code (as subcode)', (op) => {
    const ws = loadCase(`mono-wshttp-${op}`);
    const basic = loadCase(`mono-basichttp-${op}`);
    const out = soap11ResponseToSoap12(basic.response!, { request: { action: 'urn:req', messageId: 'urn:uuid:42' } });
    expect(out.isFault).toBe(true);
    const ours = parseFault(out.body)!;
    const theirs11 = parseFault(basic.response!)!;
    const theirs12 = parseFault(ws.response!)!;
    expect(ours.kind).toBe(op === 'fail-internal-fault' ? 'Receiver' : 'Sender');
    expect(ours.subcodes).toEqual([theirs11.code]);
    expect(ours.reason).toBe(theirs12.reason);
    expect(ours.lang).toBe(theirs12.lang);
    expect(elementText(ours.detail!)).toBe(elementText(theirs12.detail!));
    // the 1.1 "addressing none" Action becomes the WS-Addressing Action; RelatesTo is added
    expect(ours.action).toBe(theirs12.action);
    expect(ours.relatesTo).toBe('urn:uuid:42');
    expect(scanEnvelope(out.body).headers.map((h) => h.localName)).toEqual(['Action', 'RelatesTo']);
  });

  it('a fault without an Action of its own gets the WCF dispatcher fault action; responseAction names a reply', () => {
    const fault = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>x</faultstring><faultactor>urn:me</faultactor></s:Fault></s:Body></s:Envelope>';
    const out = soap11ResponseToSoap12(fault, { request: { action: 'urn:op', messageId: 'urn:uuid:1' } });
    expect(out.action).toBe(WCF_DISPATCHER_FAULT_ACTION);
    expect(parseFault(out.body)).toMatchObject({ kind: 'Receiver', subcodes: [], role: 'urn:me', lang: 'en-US' });
    const ok = soap11ResponseToSoap12(loadCase('mono-basichttp-add').response!, { request: { action: 'urn:op' }, responseAction: 'urn:custom' });
    expect(scanEnvelope(ok.body).addressing).toMatchObject({ action: 'urn:custom', relatesTo: undefined });
  });
});

describe('SOAP 1.1 faults as SoapCore writes them', () => {
  it('a qualified faultcode (SoapCore 1.2.1) is read: its QName becomes the SOAP 1.2 Subcode', () => {
    const soapCore =
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
      '<a:faultcode xmlns:a="http://example.org/calc/faults">a:DivideByZero</a:faultcode><faultstring>Cannot divide by zero</faultstring>' +
      '<detail><CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault></detail></s:Fault></s:Body></s:Envelope>';
    expect(parseFault(soapCore)).toMatchObject({ code: { localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' }, reason: 'Cannot divide by zero' });
    const out = soap11ResponseToSoap12(soapCore, { request: { action: 'urn:op', messageId: 'urn:uuid:1' }, faultAction: () => 'urn:op/DivideCalcFaultFault' });
    expect(out.action).toBe('urn:op/DivideCalcFaultFault');
    expect(parseFault(out.body)).toMatchObject({ kind: 'Sender', subcodes: [{ localName: 'DivideByZero', namespaceUri: 'http://example.org/calc/faults' }], reason: 'Cannot divide by zero' });
  });

  it('a fault without a faultcode becomes Receiver with no empty Subcode', () => {
    const bare = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>';
    const out = soap11ResponseToSoap12(bare, { request: { action: 'urn:op' } });
    expect(parseFault(out.body)).toMatchObject({ kind: 'Receiver', subcodes: [], reason: 'x' });
    expect(out.body.toString()).not.toContain('Subcode');
  });
});

describe('SOAP 1.1 fault -> SOAP 1.2: the Action a WCF client matches a typed fault by', () => {
  const detail = '<detail><CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault></detail>';
  const fault = (header = '') =>
    `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">${header}<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring>${detail}</s:Fault></s:Body></s:Envelope>`;
  const contract = 'http://example.org/calc/ICalculator/DivideCalcFaultFault';

  it('asks the contract with the detail element, and uses its answer', () => {
    const seen: unknown[] = [];
    const out = soap11ResponseToSoap12(fault(), {
      request: { action: 'urn:op', messageId: 'urn:uuid:1' },
      faultAction: (d) => {
        seen.push(d);
        return contract;
      },
    });
    expect(seen).toEqual([{ namespaceUri: 'http://example.org/calc/data', localName: 'CalcFault' }]);
    expect(out.action).toBe(contract);
    expect(parseFault(out.body)).toMatchObject({ action: contract, relatesTo: 'urn:uuid:1', kind: 'Sender' });
  });

  it('the contract wins over the service\'s own "addressing none" Action; without an answer that one is kept', () => {
    const none = '<s:Header><Action s:mustUnderstand="1" xmlns="http://schemas.microsoft.com/ws/2005/05/addressing/none">http://example.org/calcICalculator/DivideCalcFaultFault</Action></s:Header>';
    expect(soap11ResponseToSoap12(fault(none), { request: {}, faultAction: () => contract }).action).toBe(contract);
    expect(soap11ResponseToSoap12(fault(none), { request: {}, faultAction: () => undefined }).action).toBe('http://example.org/calcICalculator/DivideCalcFaultFault');
    expect(soap11ResponseToSoap12(fault(), { request: {}, faultAction: () => undefined }).action).toBe(WCF_DISPATCHER_FAULT_ACTION);
  });

  it('a fault without detail is asked about with undefined; responseAction never names a fault', () => {
    const bare = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>';
    const seen: unknown[] = [];
    const out = soap11ResponseToSoap12(bare, { request: {}, responseAction: 'urn:reply', faultAction: (d) => void seen.push(d) });
    expect(seen).toEqual([undefined]);
    expect(out.action).toBe(WCF_DISPATCHER_FAULT_ACTION);
  });
});

describe('SOAP 1.2 response -> SOAP 1.1 response', () => {
  it.each(['add', 'echo-unicode', 'echo-nil', 'process-datacontract'])('%s gives exactly the captured BasicHttp response', (op) => {
    const out = soap12ResponseToSoap11(loadCase(`mono-wshttp-${op}`).response!);
    expect(out.body.toString()).toBe(canonicalMono(loadCase(`mono-basichttp-${op}`).response!));
    expect(out.isFault).toBe(false);
  });

  it.each(FAULT_PAIRS)('%s: the same fault as the captured BasicHttp one', (op) => {
    const out = soap12ResponseToSoap11(loadCase(`mono-wshttp-${op}`).response!);
    const ours = parseFault(out.body)!;
    const theirs = parseFault(loadCase(`mono-basichttp-${op}`).response!)!;
    expect(ours.code.localName).toBe(theirs.code.localName);
    expect(ours.reason).toBe(theirs.reason);
    expect(ours.lang).toBe(theirs.lang);
    expect(elementText(ours.detail!)).toBe(elementText(theirs.detail!));
  });

  it('maps Sender/Receiver + Subcode to the subcode faultcode, and plain codes to Client/Server', () => {
    const fault = (code: string): string => '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>' + code +
      '<s:Reason><s:Text xml:lang="en-US">why</s:Text></s:Reason><s:Role>urn:r</s:Role><s:Detail><d xmlns="urn:d"/></s:Detail></s:Fault></s:Body></s:Envelope>';
    const withSub = soap12ResponseToSoap11(fault('<s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:a="urn:sub">a:Boom</s:Value></s:Subcode></s:Code>'));
    expect(withSub.body.toString()).toBe('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
      '<faultcode xmlns:a="urn:sub">a:Boom</faultcode><faultstring xml:lang="en-US">why</faultstring><faultactor>urn:r</faultactor>' +
      '<detail><d xmlns="urn:d"/></detail></s:Fault></s:Body></s:Envelope>');
    const plain = soap12ResponseToSoap11(fault('<s:Code><s:Value>s:Sender</s:Value></s:Code>'));
    expect(parseFault(plain.body)).toMatchObject({ kind: 'Sender', code: { localName: 'Client' }, role: 'urn:r' });
  });

  it('round-trips: 1.1 fault -> 1.2 -> 1.1 keeps code, reason and detail', () => {
    const original = loadCase('mono-basichttp-divide-typed-fault').response!;
    const there = soap11ResponseToSoap12(original, { request: { messageId: 'urn:uuid:1' } });
    const back = soap12ResponseToSoap11(there.body);
    const a = parseFault(original)!;
    const b = parseFault(back.body)!;
    expect(b.code).toEqual(a.code);
    expect(b.reason).toBe(a.reason);
    expect(elementText(b.detail!)).toBe(elementText(a.detail!));
  });
});

describe('a SOAP 1.2 fault without an Action (SoapCore) for a WS-Addressing caller', () => {
  const S = 'http://www.w3.org/2003/05/soap-envelope';
  const fault = (header = '') =>
    `<s:Envelope xmlns:s="${S}">${header}<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en">Cannot divide by zero</s:Text></s:Reason>` +
    `<s:Detail><CalcFault xmlns="http://example.org/calc/data"><Operation>Divide</Operation></CalcFault></s:Detail></s:Fault></s:Body></s:Envelope>`;
  const request = { action: 'http://example.org/calc/ICalculator/Divide', messageId: 'urn:uuid:7' };

  it("gets the contract's fault action for its detail, and RelatesTo", () => {
    const seen: unknown[] = [];
    const out = addressSoap12Fault(fault(), {
      request,
      faultAction: (detail) => (seen.push(detail), 'http://example.org/calc/ICalculator/DivideCalcFaultFault'),
    })!;
    expect(seen).toEqual([{ namespaceUri: 'http://example.org/calc/data', localName: 'CalcFault' }]);
    expect(out.action).toBe('http://example.org/calc/ICalculator/DivideCalcFaultFault');
    const info = inspectEnvelope(out.body, out.contentType, undefined);
    expect(info.addressing).toMatchObject({ action: 'http://example.org/calc/ICalculator/DivideCalcFaultFault', relatesTo: 'urn:uuid:7' });
    expect(parseFault(out.body)?.reason).toBe('Cannot divide by zero');
  });

  it("WCF's dispatcher fault action when the contract names none; a fault with its own Action, or no fault, is left alone", () => {
    expect(addressSoap12Fault(fault(), { request })!.action).toBe(WCF_DISPATCHER_FAULT_ACTION);
    const withAction = fault('<s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">urn:own</a:Action></s:Header>');
    expect(addressSoap12Fault(withAction, { request })).toBeUndefined();
    expect(addressSoap12Fault(`<s:Envelope xmlns:s="${S}"><s:Body><X/></s:Body></s:Envelope>`, { request })).toBeUndefined();
  });
});
