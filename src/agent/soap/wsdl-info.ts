/**
 * What the agent needs to know from a WSDL: which SOAP versions its bindings offer
 * (`soap:binding` = SOAP 1.1, `soap12:binding` = SOAP 1.2; WSDL 1.1 §3, W3C WSDL 1.1 SOAP 1.2
 * binding note), and the target namespace.
 */
import type { SoapVersion } from '../../protocol/soap/addressing';
import { getAttribute, parseXmlTree, type XmlElement } from '../../protocol/xml/tree';

export const WSDL_SOAP11_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const WSDL_SOAP12_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';

export interface WsdlInfo {
  /** SOAP versions of the WSDL's bindings, in document order, without duplicates. */
  readonly soapVersions: readonly SoapVersion[];
  readonly targetNamespace: string | undefined;
}

export function readWsdlInfo(wsdl: string | Buffer): WsdlInfo {
  const root = parseXmlTree(wsdl, { maxInputBytes: 16 * 1024 * 1024 });
  const versions: SoapVersion[] = [];
  const stack: XmlElement[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    if (el.localName === 'binding') {
      const v = el.namespaceUri === WSDL_SOAP11_NS ? 'soap11' : el.namespaceUri === WSDL_SOAP12_NS ? 'soap12' : undefined;
      if (v && !versions.includes(v)) versions.push(v);
    }
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.kind === 'element') stack.push(c);
    }
  }
  return { soapVersions: versions, targetNamespace: getAttribute(root, 'targetNamespace') };
}

/**
 * The SOAP version a call in `client` version should be sent in to a service offering `offered`:
 * the client's own when offered (or when nothing is known), else the first offered.
 */
export function chooseServiceVersion(client: SoapVersion, offered: readonly SoapVersion[] | undefined): SoapVersion {
  if (!offered || offered.length === 0 || offered.includes(client)) return client;
  return offered[0]!;
}
