/** Unit tests of the agent's SOAP helpers: request classification, WSDL versions, node-soap faults, IPC messages, options. */
import fs from 'node:fs';
import path from 'node:path';
import { buildAgentConfig } from '../../../src/agent/options';
import { checkRegister, isCallReply } from '../../../src/agent/ipc/ipc-protocol';
import { INTERNAL_ERROR_REASON, toNodeSoapFault, wrapSoapServices } from '../../../src/agent/soap/node-soap';
import { classifyRequest, errorJsonResponse, faultResponse, readBody } from '../../../src/agent/soap/soap-http';
import { chooseServiceVersion, readWsdlInfo, replyActionFor } from '../../../src/protocol/soap/wsdl-info';
import { RelayError } from '../../../src/core/errors';
import { parseFault } from '../../../src/protocol/soap/fault';
import { Readable } from 'node:stream';

const req = (method: string, requestTarget: string, ct?: string) => ({ method, requestTarget, headers: (ct ? { 'Content-Type': ct } : {}) as Record<string, string> });

describe('classifyRequest', () => {
  it.each([
    [req('POST', '/p', 'text/xml; charset=utf-8'), { kind: 'soap', soapVersion: 'soap11' }],
    [req('POST', '/p', 'application/soap+xml; charset=utf-8; action="x"'), { kind: 'soap', soapVersion: 'soap12' }],
    [req('POST', '/p', 'application/json'), { kind: 'other' }],
    [req('POST', '/p', 'multipart/related; type="application/xop+xml"; start-info="text/xml"'), { kind: 'other' }],
    [req('POST', '/p'), { kind: 'other' }],
    [req('PUT', '/p', 'text/xml'), { kind: 'other' }],
    [req('GET', '/p?wsdl'), { kind: 'metadata', query: { name: 'wsdl', value: '', key: 'wsdl' } }],
    [req('GET', '/p?singleWsdl'), { kind: 'metadata', query: { name: 'singlewsdl', value: '', key: 'singlewsdl' } }],
    [req('GET', '/p?xsd=xsd0'), { kind: 'metadata', query: { name: 'xsd', value: 'xsd0', key: 'xsd=xsd0' } }],
    // The same classifier as the relay's: a SOAPAction names SOAP 1.1 whatever the Content-Type.
    [{ ...req('POST', '/p', 'application/json'), headers: { 'content-type': 'application/json', SOAPAction: '"a"' } }, { kind: 'soap', soapVersion: 'soap11' }],
    [req('GET', '/p?wsdlx'), { kind: 'other' }],
    [req('GET', '/p/items?id=1'), { kind: 'other' }],
  ])('%j', (r, expected) => expect(classifyRequest(r)).toEqual(expected));
});

describe('readBody', () => {
  it('reads streams and buffers, and refuses more than the limit', async () => {
    expect((await readBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10)).toString()).toBe('abcd');
    expect((await readBody(undefined, 10)).length).toBe(0);
    await expect(readBody(Readable.from([Buffer.alloc(8), Buffer.alloc(8)]), 10)).rejects.toMatchObject({ code: 'RELAY_ERR_BODY_TOO_LARGE' });
    await expect(readBody(Buffer.alloc(11), 10)).rejects.toMatchObject({ code: 'RELAY_ERR_BODY_TOO_LARGE' });
  });
});

describe('faultResponse', () => {
  it('a SOAP 1.2 fault with RelatesTo and the error code as subcode, HTTP 500', async () => {
    const logged: unknown[] = [];
    const log = { warn: (o: unknown) => logged.push(o) };
    const res = faultResponse(new RelayError('RELAY_ERR_TIMEOUT', 'the local service at http://10.0.0.5:81 did not answer'), 'soap12', { version: 'wsa10', namespace: 'http://www.w3.org/2005/08/addressing', messageId: 'urn:uuid:1' }, log);
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/soap\+xml/);
    const body = await readBody(res.body, 1e6);
    const id = res.headers['relaybridge-correlation-id']!;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    // The private detail stays in the log, under the id the caller sees.
    expect(parseFault(body)).toMatchObject({ kind: 'Receiver', reason: `The service behind this path did not answer in time (id ${id}).`, relatesTo: 'urn:uuid:1', subcodes: [{ localName: 'RELAY_ERR_TIMEOUT' }] });
    expect(body.toString()).not.toMatch(/10\.0\.0\.5/);
    expect(logged).toEqual([expect.objectContaining({ correlationId: id, code: 'RELAY_ERR_TIMEOUT', err: expect.stringMatching(/10\.0\.0\.5:81/) })]);
  });
  it('errors about the request itself keep their message; a JSON error for non-SOAP calls carries the id too', async () => {
    const res = faultResponse(new RelayError('RELAY_ERR_BODY_TOO_LARGE', 'the SOAP message is larger than 10 bytes'), 'soap11', undefined, undefined);
    expect(parseFault(await readBody(res.body, 1e6))!.reason).toMatch(/^the SOAP message is larger than 10 bytes \(id [0-9a-f]{12}\)\.$/);
    const json = errorJsonResponse(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', 'the local service at http://127.0.0.1:19020 is unreachable'), undefined);
    expect(json.statusCode).toBe(502);
    const parsed = JSON.parse((await readBody(json.body, 1e6)).toString()) as { error: { message: string; correlationId: string } };
    expect(parsed.error.message).toBe(`The service behind this path is unreachable (id ${parsed.error.correlationId}).`);
    expect(json.headers['relaybridge-correlation-id']).toBe(parsed.error.correlationId);
  });
});

describe('readWsdlInfo / chooseServiceVersion', () => {
  const wsdlDir = path.resolve(__dirname, '../../../wsdl');
  it('reads the SOAP versions of the bindings', () => {
    expect(readWsdlInfo(fs.readFileSync(path.join(wsdlDir, 'calculator.wsdl'))).soapVersions).toEqual(['soap11']);
    const both = `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" targetNamespace="urn:x">
      <wsdl:binding name="b1"><soap12:binding transport="http://schemas.xmlsoap.org/soap/http"/></wsdl:binding>
      <wsdl:binding name="b2"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/></wsdl:binding></wsdl:definitions>`;
    expect(readWsdlInfo(both)).toMatchObject({ soapVersions: ['soap12', 'soap11'], targetNamespace: 'urn:x', operations: [], imports: [] });
  });
  it('names the actions of each operation as WCF does when the WSDL declares none', () => {
    const info = readWsdlInfo(fs.readFileSync(path.join(wsdlDir, 'calculator.wsdl')));
    const divide = info.operations.find((op) => op.name === 'Divide')!;
    expect(divide).toEqual({
      portType: { namespaceUri: 'http://example.org/calc', localName: 'ICalculator' },
      name: 'Divide',
      inputActions: ['http://example.org/calc/ICalculator/Divide'],
      inputElement: { namespaceUri: 'http://example.org/calc', localName: 'Divide' },
      outputAction: undefined,
      oneWay: false,
      faults: [
        {
          name: 'CalcFaultFault',
          element: { namespaceUri: 'http://example.org/calc/data', localName: 'CalcFault' },
          // WCF's default for [FaultContract(typeof(CalcFault))]: {ns}/{contract}/{op}{DetailType}Fault
          action: 'http://example.org/calc/ICalculator/DivideCalcFaultFault',
        },
      ],
    });
    expect(info.operations.find((op) => op.name === 'Notify')).toMatchObject({ oneWay: true, faults: [] });
    const detail = { namespaceUri: 'http://example.org/calc/data', localName: 'CalcFault' };
    expect(replyActionFor(info, 'http://example.org/calc/ICalculator/Divide', { fault: true, detail })).toBe('http://example.org/calc/ICalculator/DivideCalcFaultFault');
    // an unknown request action: looked up over every operation
    expect(replyActionFor(info, 'urn:elsewhere', { fault: true, detail })).toBe('http://example.org/calc/ICalculator/DivideCalcFaultFault');
    expect(replyActionFor(info, 'http://example.org/calc/ICalculator/Divide', { fault: true, detail: { namespaceUri: 'urn:x', localName: 'Other' } })).toBeUndefined();
    expect(replyActionFor(info, 'http://example.org/calc/ICalculator/Divide', { fault: true, detail: undefined })).toBeUndefined();
    // no declared output action: the default (request action + "Response") is left to the translator
    expect(replyActionFor(info, 'http://example.org/calc/ICalculator/Divide', { fault: false })).toBeUndefined();
  });

  it('reads a WSDL split over imports (as WCF publishes ?wsdl + ?wsdl=wsdl0), with declared actions', () => {
    const main = `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:i0="urn:contract" targetNamespace="http://tempuri.org/">
      <wsdl:import namespace="urn:contract" location="http://svc.local/Calc.svc?wsdl=wsdl0"/>
      <wsdl:binding name="BasicHttpBinding_ICalc" type="i0:ICalc"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
        <wsdl:operation name="Divide"><soap:operation soapAction="urn:contract:divide" style="document"/></wsdl:operation>
      </wsdl:binding></wsdl:definitions>`;
    const contract = `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl" xmlns:tns="urn:contract" xmlns:d="urn:data" targetNamespace="urn:contract">
      <wsdl:message name="In"><wsdl:part name="parameters" element="tns:Divide"/></wsdl:message>
      <wsdl:message name="Out"><wsdl:part name="parameters" element="tns:DivideResponse"/></wsdl:message>
      <wsdl:message name="F1"><wsdl:part name="detail" element="d:Overflow"/></wsdl:message>
      <wsdl:message name="F2"><wsdl:part name="detail" element="d:ByZero"/></wsdl:message>
      <wsdl:portType name="ICalc"><wsdl:operation name="Divide">
        <wsdl:input wsaw:Action="urn:contract:divide" message="tns:In"/>
        <wsdl:output wsaw:Action="urn:contract:divide-reply" message="tns:Out"/>
        <wsdl:fault wsaw:Action="urn:contract:overflow" name="OverflowFault" message="tns:F1"/>
        <wsdl:fault name="ByZeroFault" message="tns:F2"/>
      </wsdl:operation></wsdl:portType></wsdl:definitions>`;
    expect(readWsdlInfo(main).imports).toEqual(['http://svc.local/Calc.svc?wsdl=wsdl0']);
    const info = readWsdlInfo([main, contract]);
    expect(info.soapVersions).toEqual(['soap11']);
    expect(info.targetNamespace).toBe('http://tempuri.org/');
    expect(info.operations).toHaveLength(1);
    expect(info.operations[0]!.inputActions).toEqual(['urn:contract:divide', 'urn:contract/ICalc/Divide']);
    const fault = (localName: string) => ({ fault: true as const, detail: { namespaceUri: 'urn:data', localName } });
    expect(replyActionFor(info, 'urn:contract:divide', fault('Overflow'))).toBe('urn:contract:overflow');
    expect(replyActionFor(info, 'urn:contract:divide', fault('ByZero'))).toBe('urn:contract/ICalc/DivideByZeroFault');
    expect(replyActionFor(info, 'urn:contract:divide', { fault: false })).toBe('urn:contract:divide-reply');
    // the same documents in the other order read the same
    expect(readWsdlInfo([contract, main]).operations).toEqual(info.operations);
  });

  it('keeps the client version when offered or unknown, else the first offered', () => {
    expect(chooseServiceVersion('soap12', ['soap11', 'soap12'])).toBe('soap12');
    expect(chooseServiceVersion('soap12', ['soap11'])).toBe('soap11');
    expect(chooseServiceVersion('soap11', undefined)).toBe('soap11');
    expect(chooseServiceVersion('soap11', [])).toBe('soap11');
  });
});

describe('node-soap operation wrapping', () => {
  it('turns thrown errors into well-formed faults with HTTP 500', async () => {
    const wrapped = wrapSoapServices(
      {
        S: {
          P: {
            Sync: () => {
              throw new Error('boom');
            },
            Async: async () => {
              throw new Error('later');
            },
            Typed: () => {
              throw { Fault: { faultcode: 'soap:Client', faultstring: 'typed' } };
            },
            Ok: () => ({ R: 1 }),
          },
        },
      },
      { soapVersion: 'soap11' },
    );
    const ops = wrapped.S!.P!;
    expect(() => ops.Sync!({})).toThrow();
    try {
      ops.Sync!({});
    } catch (e) {
      expect(e).toEqual({ Fault: { faultcode: 'soap:Server', faultstring: INTERNAL_ERROR_REASON, statusCode: 500 } });
    }
    await expect(ops.Async!({})).rejects.toEqual({ Fault: { faultcode: 'soap:Server', faultstring: INTERNAL_ERROR_REASON, statusCode: 500 } });
    try {
      ops.Typed!({});
    } catch (e) {
      expect(e).toEqual({ Fault: { faultcode: 'soap:Client', faultstring: 'typed', statusCode: 500 } });
    }
    expect(ops.Ok!({})).toEqual({ R: 1 });
  });
  it('SOAP 1.2 faults use Code/Reason; exception detail only when asked', () => {
    expect(toNodeSoapFault(new Error('x'), { soapVersion: 'soap12', includeExceptionDetail: true })).toEqual({ Fault: { Code: { Value: 'soap:Receiver' }, Reason: { Text: 'x' }, statusCode: 500 } });
  });
});

describe('IPC messages', () => {
  it('validates register requests', () => {
    expect(checkRegister({ t: 'register', path: 'calc', operations: [{ name: 'Add' }] })).toBeUndefined();
    expect(checkRegister({ t: 'register', path: '', operations: [{ name: 'Add' }] })).toMatch(/path/);
    expect(checkRegister({ t: 'register', path: 'calc', operations: [] })).toMatch(/operations/);
    expect(checkRegister({ t: 'register', path: 'calc', operations: [{ name: '<x>' }] })).toMatch(/invalid operation/);
    expect(checkRegister({ t: 'register', path: 'calc', operations: [{ name: 'A' }], wsdl: 1 })).toMatch(/wsdl/);
    expect(checkRegister(null)).toMatch(/object/);
  });
  it('validates call replies', () => {
    expect(isCallReply({ ok: true, result: 1 })).toBe(true);
    expect(isCallReply({ ok: false, fault: { reason: 'r' } })).toBe(true);
    expect(isCallReply({ ok: false })).toBe(false);
    expect(isCallReply('x')).toBe(false);
  });
});

describe('agent options for the SOAP targets', () => {
  const base = { relayUrl: 'http://relay:1', keyName: 'k', key: 'v' };
  it('defaults: http soapVersion auto + rewriteTo; module and ipc timeouts', () => {
    const c = buildAgentConfig({
      ...base,
      services: [
        { path: 'a', target: { type: 'http', url: 'http://svc/' } },
        { path: 'b', target: { type: 'module', module: './m.js' } },
        { path: 'c', target: { type: 'ipc', socketPath: '/tmp/s.sock' } },
      ],
    });
    expect(c.services[0]!.target).toMatchObject({ soapVersion: 'auto', rewriteTo: true, maxMessageBytes: 16 * 1024 * 1024 });
    expect(c.services[1]!.target).toMatchObject({ soapVersion: 'auto', timeoutMs: 30_000, includeExceptionDetail: false });
    expect(c.services[2]!.target).toMatchObject({ timeoutMs: 30_000 });
  });
  it('names bad keys', () => {
    expect(() => buildAgentConfig({ ...base, services: [{ path: 'a', target: { type: 'http', url: 'http://svc/', soapVersion: '1.3' as '1.1' } }] })).toThrow(/soapVersion/);
    expect(() => buildAgentConfig({ ...base, services: [{ path: 'a', target: { type: 'ipc' } as never }] })).toThrow(/socketPath/);
    expect(() => buildAgentConfig({ ...base, services: [{ path: 'a', target: { type: 'module', module: 'x', port: 1 } as never }] })).toThrow(/port/);
  });
});
