/** describeNetTcpEndpoint: WSDL for net.tcp clients at the relay's address. */
import fs from 'node:fs';
import path from 'node:path';
import { BINARY_ENCODING_NS, TCP_TRANSPORT, WSDL_NS, describeNetTcpEndpoint } from '../../../../src/relay/endpoints/net-tcp/metadata';
import { childElements, findChild, getAttribute, parseXmlTree, type XmlElement } from '../../../../src/protocol/xml/tree';

const SOAP12_WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';
const RELAY = 'net.tcp://relay.example.com:9350/calc';

function all(el: XmlElement, ns: string, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.namespaceUri === ns && e.localName === local) out.push(e);
    for (const c of childElements(e)) walk(c);
  };
  walk(el);
  return out;
}

describe('describeNetTcpEndpoint', () => {
  it('adds a net.tcp binding, policy and port to an HTTP-only WSDL', () => {
    const source = fs.readFileSync(path.resolve(__dirname, '../../../fixtures/wsdl/calculator.wsdl'));
    const root = parseXmlTree(describeNetTcpEndpoint(source, { address: RELAY }));
    const bindings = childElements(root).filter((e) => e.namespaceUri === WSDL_NS && e.localName === 'binding');
    const tcp = bindings.filter((b) => findChild(b, SOAP12_WSDL_NS, 'binding') && getAttribute(findChild(b, SOAP12_WSDL_NS, 'binding')!, 'transport') === TCP_TRANSPORT);
    expect(tcp).toHaveLength(1);
    const binding = tcp[0]!;
    expect(getAttribute(binding, 'name')).toBe('NetTcpBinding_ICalculator');
    expect(getAttribute(binding, 'type')).toBe('tns:ICalculator');
    // Same operations as the source binding, with their actions.
    const ops = childElements(binding).filter((e) => e.localName === 'operation');
    const sourceOps = childElements(bindings[0]!).filter((e) => e.localName === 'operation');
    expect(ops.map((o) => getAttribute(o, 'name'))).toEqual(sourceOps.map((o) => getAttribute(o, 'name')));
    const add = ops.find((o) => getAttribute(o, 'name') === 'Add')!;
    expect(getAttribute(findChild(add, SOAP12_WSDL_NS, 'operation')!, 'soapAction')).toBe('http://example.org/calc/ICalculator/Add');
    // Policy: binary encoding + WS-Addressing, referenced by the binding.
    expect(all(root, BINARY_ENCODING_NS, 'BinaryEncoding')).toHaveLength(1);
    // Port at the relay's address, in the service, last.
    const service = childElements(root).filter((e) => e.localName === 'service')[0]!;
    const port = childElements(service).find((p) => getAttribute(p, 'name') === 'NetTcpBinding_ICalculator')!;
    expect(getAttribute(findChild(port, SOAP12_WSDL_NS, 'address')!, 'location')).toBe(RELAY);
    expect(getAttribute(port, 'binding')).toBe('rbtns:NetTcpBinding_ICalculator');
    expect(childElements(root).at(-1)).toBe(service);
  });

  it('points an existing net.tcp port (a WCF service with a NetTcp endpoint) at the relay', () => {
    const wsdl = `<wsdl:definitions xmlns:wsdl="${WSDL_NS}" xmlns:soap12="${SOAP12_WSDL_NS}" xmlns:wsa10="http://www.w3.org/2005/08/addressing" xmlns:i0="http://example.org/calc" targetNamespace="http://tempuri.org/">
<wsdl:binding name="NetTcpBinding_ICalculator" type="i0:ICalculator"><soap12:binding transport="${TCP_TRANSPORT}"/></wsdl:binding>
<wsdl:service name="service"><wsdl:port name="NetTcpBinding_ICalculator" binding="tns:NetTcpBinding_ICalculator"><soap12:address location="net.tcp://127.0.0.1:4567/calc"/><wsa10:EndpointReference><wsa10:Address>net.tcp://127.0.0.1:4567/calc</wsa10:Address></wsa10:EndpointReference></wsdl:port></wsdl:service></wsdl:definitions>`;
    const out = describeNetTcpEndpoint(wsdl, { address: RELAY }).toString('utf8');
    expect(out).not.toContain('127.0.0.1:4567');
    expect(out.split(RELAY)).toHaveLength(3);
    expect(out.match(/<wsdl:binding /g)).toHaveLength(1);
  });

  it('leaves documents that are not WSDL 1.1 definitions alone', () => {
    const xsd = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>';
    expect(describeNetTcpEndpoint(xsd, { address: RELAY }).toString()).toBe(xsd);
  });
});
