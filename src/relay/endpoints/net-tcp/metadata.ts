/**
 * WSDL for net.tcp clients (wcf-wire.md §7): the service's WSDL made to describe the relay's
 * net.tcp endpoint, so that a client generated from it (svcutil, Add Service Reference) opens a
 * NetTcpBinding channel to the relay.
 *
 * - A port whose soap12:address is already net.tcp:// (a WCF service with a NetTcp endpoint) gets
 *   the relay's address in soap12:address/@location and in its wsa10:EndpointReference/Address.
 * - Otherwise (an HTTP-only service: the relay bridges bindings) a binding is added per source
 *   binding, `NetTcpBinding_{portType}`: soap12:binding over http://schemas.microsoft.com/soap/tcp,
 *   the source operations with their soapAction, and a policy with msb:BinaryEncoding and
 *   wsaw:UsingAddressing (binary encoding, WS-Addressing 1.0: what NetTcpBinding with security
 *   None is imported from), and with `transportSecurity` an sp:TransportBinding whose token is
 *   msf:SslTransportSecurity (what WCF exports for NetTcpBinding with SecurityMode.Transport and
 *   no client credential: the TLS upgrade); plus a port at the relay's net.tcp address in the
 *   first wsdl:service.
 * New elements declare the namespaces they use themselves, so no prefix of the source document
 * can clash with them. Pure function: text in, text out.
 */
import { writeXml } from '../../../protocol/xml/text-writer';
import {
  attribute,
  childElements,
  createElement,
  findChild,
  getAttribute,
  lookupNamespace,
  namespaceDeclaration,
  parseXmlTree,
  textNode,
  treeTokens,
  type XmlElement,
} from '../../../protocol/xml/tree';

export const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
const SOAP11_WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const SOAP12_WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';
const WSA10_NS = 'http://www.w3.org/2005/08/addressing';
const WSP_NS = 'http://schemas.xmlsoap.org/ws/2004/09/policy';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const WSAW_NS = 'http://www.w3.org/2006/05/addressing/wsdl';
const SP_NS = 'http://schemas.xmlsoap.org/ws/2005/07/securitypolicy';
/** The framing policy namespace (wcf-wire.md §7): msf:SslTransportSecurity is the TLS upgrade. */
export const FRAMING_POLICY_NS = 'http://schemas.microsoft.com/ws/2006/05/framing/policy';
/** The binary encoder's policy assertion (wcf-wire.md §7). */
export const BINARY_ENCODING_NS = 'http://schemas.microsoft.com/ws/06/2004/mspolicy/netbinary1';
/** soap12:binding/@transport of net.tcp. */
export const TCP_TRANSPORT = 'http://schemas.microsoft.com/soap/tcp';

export interface NetTcpWsdlOptions {
  /** The relay's net.tcp address of this path: net.tcp://relay:port/path. */
  readonly address: string;
  /** The relay requires the TLS upgrade (netTcp.requireTls): advertise Transport security. */
  readonly transportSecurity?: boolean;
}

/** Rewrites or extends a WSDL document so that it describes the net.tcp endpoint at `address`. */
export function describeNetTcpEndpoint(wsdl: Buffer | string, options: NetTcpWsdlOptions): Buffer {
  const root = parseXmlTree(wsdl);
  if (root.namespaceUri !== WSDL_NS || root.localName !== 'definitions') return Buffer.isBuffer(wsdl) ? wsdl : Buffer.from(wsdl, 'utf8');
  const w = root.prefix;
  const services = childElements(root).filter((e) => e.namespaceUri === WSDL_NS && e.localName === 'service');
  let rewritten = 0;
  for (const service of services) {
    for (const port of childElements(service).filter((e) => e.namespaceUri === WSDL_NS && e.localName === 'port')) {
      const address = findChild(port, SOAP12_WSDL_NS, 'address');
      const location = address && getAttribute(address, 'location');
      if (!address || !location || !/^net\.tcp:/i.test(location)) continue;
      setAttribute(address, 'location', options.address);
      const epr = findChild(port, WSA10_NS, 'EndpointReference');
      const addr = epr && findChild(epr, WSA10_NS, 'Address');
      if (addr) addr.children = [textNode(options.address)];
      rewritten++;
    }
  }
  if (rewritten === 0) addNetTcpPorts(root, w, services[0], options.address, options.transportSecurity === true);
  return Buffer.from(writeXml(treeTokens(root)), 'utf8');
}

function setAttribute(el: XmlElement, localName: string, value: string): void {
  const i = el.attributes.findIndex((a) => !a.isNamespaceDeclaration && a.prefix === '' && a.localName === localName);
  const attr = attribute('', localName, value);
  if (i >= 0) el.attributes[i] = attr;
  else el.attributes.push(attr);
}

/** The soap/soap12 operation action of a binding operation. */
function soapActionOf(op: XmlElement): string | undefined {
  const so = findChild(op, SOAP12_WSDL_NS, 'operation') ?? findChild(op, SOAP11_WSDL_NS, 'operation');
  return so && getAttribute(so, 'soapAction');
}

function addNetTcpPorts(root: XmlElement, w: string, firstService: XmlElement | undefined, address: string, transportSecurity: boolean): void {
  const targetNamespace = getAttribute(root, 'targetNamespace') ?? '';
  const bindings = childElements(root).filter(
    (e) =>
      e.namespaceUri === WSDL_NS &&
      e.localName === 'binding' &&
      (findChild(e, SOAP11_WSDL_NS, 'binding') !== undefined || findChild(e, SOAP12_WSDL_NS, 'binding') !== undefined),
  );
  if (bindings.length === 0) return;
  let service = firstService;
  if (!service) {
    service = createElement(w, 'service', WSDL_NS, [attribute('', 'name', 'RelayService')]);
    root.children.push(service);
  }
  const seen = new Set<string>();
  const firstBindingIndex = root.children.indexOf(bindings[0]!);
  const policies: XmlElement[] = [];
  for (const source of bindings) {
    const type = getAttribute(source, 'type');
    if (!type) continue;
    // One net.tcp binding per port type (a service often has SOAP 1.1 and 1.2 bindings of one).
    if (seen.has(type)) continue;
    seen.add(type);
    const portType = type.includes(':') ? type.slice(type.indexOf(':') + 1) : type;
    const name = `NetTcpBinding_${portType}`;
    const policyId = `${name}_policy`;
    policies.push(policyFor(policyId, transportSecurity));

    // The type QName resolves in the source binding's scope: carry its prefix declaration.
    const typePrefix = type.includes(':') ? type.slice(0, type.indexOf(':')) : '';
    const typeNs = lookupNamespace(source, typePrefix);
    const binding = createElement(w, 'binding', WSDL_NS, [
      namespaceDeclaration(w, WSDL_NS),
      namespaceDeclaration('soap12', SOAP12_WSDL_NS),
      namespaceDeclaration('wsp', WSP_NS),
      ...(typeNs !== undefined ? [namespaceDeclaration(typePrefix, typeNs)] : []),
      attribute('', 'name', name),
      attribute('', 'type', type),
    ]);
    binding.children.push(
      createElement('wsp', 'PolicyReference', WSP_NS, [attribute('', 'URI', `#${policyId}`)]),
      createElement('soap12', 'binding', SOAP12_WSDL_NS, [attribute('', 'transport', TCP_TRANSPORT)]),
    );
    for (const op of childElements(source).filter((e) => e.namespaceUri === WSDL_NS && e.localName === 'operation')) {
      const operation = createElement(w, 'operation', WSDL_NS, [attribute('', 'name', getAttribute(op, 'name') ?? '')]);
      const action = soapActionOf(op);
      operation.children.push(
        createElement('soap12', 'operation', SOAP12_WSDL_NS, [...(action !== undefined ? [attribute('', 'soapAction', action)] : []), attribute('', 'style', 'document')]),
      );
      for (const part of childElements(op).filter((e) => e.namespaceUri === WSDL_NS)) {
        if (part.localName === 'input' || part.localName === 'output') {
          operation.children.push(createElement(w, part.localName, WSDL_NS, [], [createElement('soap12', 'body', SOAP12_WSDL_NS, [attribute('', 'use', 'literal')])]));
        } else if (part.localName === 'fault') {
          const faultName = getAttribute(part, 'name') ?? '';
          operation.children.push(
            createElement(w, 'fault', WSDL_NS, [attribute('', 'name', faultName)], [
              createElement('soap12', 'fault', SOAP12_WSDL_NS, [attribute('', 'use', 'literal'), attribute('', 'name', faultName)]),
            ]),
          );
        }
      }
      binding.children.push(operation);
    }
    root.children.push(binding);

    service.children.push(
      createElement(w, 'port', WSDL_NS, [
        // The new binding is named in the document's target namespace.
        ...(targetNamespace ? [namespaceDeclaration('rbtns', targetNamespace)] : []),
        attribute('', 'name', name),
        attribute('', 'binding', targetNamespace ? `rbtns:${name}` : name),
      ], [
        createElement('soap12', 'address', SOAP12_WSDL_NS, [namespaceDeclaration('soap12', SOAP12_WSDL_NS), attribute('', 'location', address)]),
        createElement('wsa10', 'EndpointReference', WSA10_NS, [namespaceDeclaration('wsa10', WSA10_NS)], [
          createElement('wsa10', 'Address', WSA10_NS, [], [textNode(address)]),
        ]),
      ]),
    );
  }
  // Policies go before the bindings, as WCF writes them; services stay last.
  root.children.splice(firstBindingIndex, 0, ...policies);
  const idx = root.children.indexOf(service);
  if (idx >= 0 && idx !== root.children.length - 1) {
    root.children.splice(idx, 1);
    root.children.push(service);
  }
}

function policyFor(id: string, transportSecurity: boolean): XmlElement {
  const nested = (...children: XmlElement[]): XmlElement => createElement('wsp', 'Policy', WSP_NS, [], children);
  const sp = (name: string, children: XmlElement[] = []): XmlElement => createElement('sp', name, SP_NS, [], children);
  const transport = sp('TransportBinding', [
    nested(
      sp('TransportToken', [nested(createElement('msf', 'SslTransportSecurity', FRAMING_POLICY_NS, [namespaceDeclaration('msf', FRAMING_POLICY_NS)]))]),
      sp('AlgorithmSuite', [nested(sp('Basic256'))]),
      sp('Layout', [nested(sp('Strict'))]),
    ),
  ]);
  transport.attributes.push(namespaceDeclaration('sp', SP_NS));
  return createElement('wsp', 'Policy', WSP_NS, [namespaceDeclaration('wsp', WSP_NS), namespaceDeclaration('wsu', WSU_NS), attribute('wsu', 'Id', id)], [
    createElement('wsp', 'ExactlyOne', WSP_NS, [], [
      createElement('wsp', 'All', WSP_NS, [], [
        createElement('msb', 'BinaryEncoding', BINARY_ENCODING_NS, [namespaceDeclaration('msb', BINARY_ENCODING_NS)]),
        ...(transportSecurity ? [transport] : []),
        createElement('wsaw', 'UsingAddressing', WSAW_NS, [namespaceDeclaration('wsaw', WSAW_NS)]),
      ]),
    ]),
  ]);
}
