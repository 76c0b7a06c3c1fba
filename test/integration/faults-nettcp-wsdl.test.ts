/**
 * Issue item 6: a `nettcp` target reads one-way operations from its WSDL (the `wsdl` file or
 * `wsdlUrl`), so a one-way call from a basicHttp caller is answered 202 once written instead of
 * waiting out the call timeout (`oneWayActions` no longer has to repeat the WSDL).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SessionReader } from '../../src/protocol/nbfx';
import { binaryToXml } from '../../src/protocol/soap-binary';
import { ServerDecoder, encodePreambleAck } from '../../src/protocol/nmf';
import { scanEnvelope } from '../../src/protocol/soap/envelope';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, request } from '../helpers/harness';
import { timeout } from './faults-support';

const NS = 'http://example.org/calc';
const WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Calc" targetNamespace="${NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="${NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <wsdl:types><xs:schema targetNamespace="${NS}" elementFormDefault="qualified"><xs:element name="Notify"><xs:complexType/></xs:element></xs:schema></wsdl:types>
  <wsdl:message name="ICalculator_Notify_InputMessage"><wsdl:part name="parameters" element="tns:Notify"/></wsdl:message>
  <wsdl:portType name="ICalculator"><wsdl:operation name="Notify"><wsdl:input message="tns:ICalculator_Notify_InputMessage"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="b" type="tns:ICalculator"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Notify"><soap:operation soapAction="${NS}/ICalculator/Notify" style="document"/><wsdl:input><soap:body use="literal"/></wsdl:input></wsdl:operation></wsdl:binding>
</wsdl:definitions>`;

/** A net.tcp service that takes every message and answers none (as a WCF service does for one-way operations). */
async function silentNetTcpService(h: Harness): Promise<{ url: string; actions: string[] }> {
  const actions: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const decoder = new ServerDecoder();
    let reader = new SessionReader();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === 'preambleEnd') {
          reader = new SessionReader();
          socket.write(encodePreambleAck());
        } else if (f.type === 'envelope') actions.push(scanEnvelope(binaryToXml(f.payload, { session: reader })).addressing?.action ?? '');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  h.defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { url: `net.tcp://127.0.0.1:${(server.address() as AddressInfo).port}/calc`, actions };
}

describe('nettcp target: one-way operations from the WSDL', () => {
  const h = new Harness();
  let relay: RelayServer;
  let service: Awaited<ReturnType<typeof silentNetTcpService>>;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-wsdl-'));
    h.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const wsdlFile = path.join(dir, 'calc.wsdl');
    fs.writeFileSync(wsdlFile, WSDL);
    relay = await h.relay({ entities: [{ path: 'calc', requiresClientAuthorization: false }] });
    service = await silentNetTcpService(h);
    // No oneWayActions, and the default 60 s call timeout.
    const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'nettcp', url: service.url, wsdl: wsdlFile } }]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('a SOAP 1.1 (basicHttp) one-way call: 202 as soon as it is written', async () => {
    const env = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Notify xmlns="${NS}"/></s:Body></s:Envelope>`;
    const res = await timeout(
      request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Notify"` }, body: env }),
      15_000,
      'one-way Notify',
    );
    expect(res.status).toBe(202);
    expect(service.actions).toContain(`${NS}/ICalculator/Notify`);
  });

  it('a SOAP 1.2 one-way call that carries a MessageID (as Mono sends): 202 too', async () => {
    const env =
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>` +
      `<a:Action s:mustUnderstand="1">${NS}/ICalculator/Notify</a:Action><a:MessageID>urn:uuid:00000000-0000-0000-0000-00000000000a</a:MessageID>` +
      `<a:To s:mustUnderstand="1">http://relay.example/calc</a:To></s:Header><s:Body><Notify xmlns="${NS}"/></s:Body></s:Envelope>`;
    const res = await timeout(
      request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${NS}/ICalculator/Notify"` }, body: env }),
      15_000,
      'one-way Notify 1.2',
    );
    expect(res.status).toBe(202);
  });
});
