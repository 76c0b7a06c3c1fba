/**
 * What the agent needs to know from a WSDL (WSDL 1.1, possibly split over `wsdl:import`ed
 * documents, as WCF publishes it):
 * - which SOAP versions its bindings offer (`soap:binding` = SOAP 1.1, `soap12:binding` = SOAP
 *   1.2; WSDL 1.1 §3, W3C WSDL 1.1 SOAP 1.2 binding note);
 * - per operation, the actions of its messages, so a reply translated from SOAP 1.1 (which has
 *   no Action on the wire) gets the Action a WCF client matches it by. A .NET client picks the
 *   typed fault (FaultException<T>) only among fault contracts whose Action equals the reply's
 *   Action; with any other Action it throws a plain FaultException.
 *
 * Actions are, in order: the `wsaw:Action`/`wsam:Action` attribute (WS-Addressing WSDL binding
 * and Metadata), the binding's `soapAction` (inputs only), else the name WCF gives a contract's
 * message by default: `{ns}/{portType}/{operation}` for the input and
 * `{ns}/{portType}/{operation}{faultName}` for a fault (WCF names a fault
 * `{DetailType}Fault` and publishes it under that name).
 */
import type { SoapVersion } from './addressing';
import { childrenNamed, getAttribute, lookupNamespace, parseXmlTree, resolveQNameText, type XmlElement } from '../xml/tree';

export const WSDL_NS = 'http://schemas.xmlsoap.org/wsdl/';
export const WSDL_SOAP11_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
export const WSDL_SOAP12_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';

/** Namespaces of the `Action` attribute on WSDL operation messages. */
const ACTION_ATTRIBUTE_NS = new Set([
  'http://www.w3.org/2006/05/addressing/wsdl', // wsaw (WCF)
  'http://www.w3.org/2007/05/addressing/metadata', // wsam (WCF 4+, JAX-WS)
  'http://www.w3.org/2006/02/addressing/wsdl',
  'http://schemas.xmlsoap.org/ws/2004/08/addressing',
]);

/** Largest WSDL document read, bytes. */
export const MAX_WSDL_BYTES = 16 * 1024 * 1024;

export interface QName {
  readonly namespaceUri: string;
  readonly localName: string;
}

export interface WsdlFault {
  readonly name: string;
  /** The element its detail carries (the fault message's part), when declared. */
  readonly element: QName | undefined;
  readonly action: string;
}

export interface WsdlOperation {
  readonly portType: QName;
  readonly name: string;
  /** Actions a request for this operation may carry: declared, binding soapActions, WCF default. */
  readonly inputActions: readonly string[];
  /** The element the request's Body carries (its input message's part), when declared. */
  readonly inputElement: QName | undefined;
  /** The reply's action when the WSDL declares it (else WCF's default, request action + "Response", applies). */
  readonly outputAction: string | undefined;
  readonly oneWay: boolean;
  readonly faults: readonly WsdlFault[];
}

export interface WsdlInfo {
  /** SOAP versions of the WSDL's bindings, in document order, without duplicates. */
  readonly soapVersions: readonly SoapVersion[];
  readonly targetNamespace: string | undefined;
  readonly operations: readonly WsdlOperation[];
  /** `location`s of `wsdl:import`s, as written (resolve them against the document's URL). */
  readonly imports: readonly string[];
}

/** `{namespace}local`: a QName as a map key. */
export const qnameKey = (q: QName): string => `{${q.namespaceUri}}${q.localName}`;
const key = qnameKey;

function* descendants(root: XmlElement): Generator<XmlElement> {
  const stack: XmlElement[] = [root];
  while (stack.length) {
    const el = stack.pop()!;
    yield el;
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.kind === 'element') stack.push(c);
    }
  }
}

function wsdlChildren(el: XmlElement, localName: string): XmlElement[] {
  return childrenNamed(el, WSDL_NS, localName);
}

function declaredAction(el: XmlElement): string | undefined {
  for (const a of el.attributes) {
    if (a.isNamespaceDeclaration || a.localName !== 'Action' || a.prefix === '') continue;
    const ns = lookupNamespace(el, a.prefix);
    if (ns !== undefined && ACTION_ATTRIBUTE_NS.has(ns)) return a.value.trim();
  }
  return undefined;
}

/** A QName-valued attribute (`type="tns:Order"`), resolved at `el`. */
export function qnameAttribute(el: XmlElement, name: string): QName | undefined {
  const v = getAttribute(el, name);
  if (v === undefined) return undefined;
  const q = resolveQNameText(el, v);
  return { namespaceUri: q.namespaceUri, localName: q.localName };
}

/** `{ns}/{name}/` as WCF's NamingHelper.GetMessageAction builds it. */
function contractPrefix(portType: QName): string {
  const ns = portType.namespaceUri;
  return `${ns.endsWith('/') ? ns : `${ns}/`}${portType.localName}/`;
}

/** Parses one WSDL document (at most MAX_WSDL_BYTES). */
export function parseWsdl(document: string | Buffer): XmlElement {
  return parseXmlTree(document, { maxInputBytes: MAX_WSDL_BYTES });
}

/** `location`s of a parsed WSDL's `wsdl:import`s, as written (resolve them against the document's URL). */
export function wsdlImports(root: XmlElement): string[] {
  return wsdlChildren(root, 'import').flatMap((imp) => getAttribute(imp, 'location') ?? []);
}

type WsdlDocument = string | Buffer | XmlElement;

/**
 * Reads one WSDL, or a WSDL and the documents it imports (any order; text or parsed): a
 * portType, message or binding may be in any of them, as in WCF's `?wsdl` + `?wsdl=wsdl0`.
 */
export function readWsdlInfo(documents: WsdlDocument | readonly WsdlDocument[]): WsdlInfo {
  const roots = (Array.isArray(documents) ? documents : [documents]).map((d: WsdlDocument) => (typeof d === 'string' || Buffer.isBuffer(d) ? parseWsdl(d) : d));
  const versions: SoapVersion[] = [];
  const imports: string[] = [];
  /** message QName → element of its first part. */
  const messages = new Map<string, QName | undefined>();
  const portTypes: { name: QName; el: XmlElement }[] = [];
  /** `{portType}operation` → soapActions from the bindings of that portType. */
  const soapActions = new Map<string, string[]>();
  for (const root of roots) {
    const tns = getAttribute(root, 'targetNamespace') ?? '';
    for (const el of descendants(root)) {
      if (el.localName === 'binding' && el.namespaceUri !== WSDL_NS) {
        const v = el.namespaceUri === WSDL_SOAP11_NS ? 'soap11' : el.namespaceUri === WSDL_SOAP12_NS ? 'soap12' : undefined;
        if (v && !versions.includes(v)) versions.push(v);
      }
    }
    imports.push(...wsdlImports(root));
    for (const m of wsdlChildren(root, 'message')) {
      const name = getAttribute(m, 'name');
      if (name === undefined) continue;
      const part = wsdlChildren(m, 'part')[0];
      messages.set(key({ namespaceUri: tns, localName: name }), part ? qnameAttribute(part, 'element') : undefined);
    }
    for (const pt of wsdlChildren(root, 'portType')) {
      const name = getAttribute(pt, 'name');
      if (name !== undefined) portTypes.push({ name: { namespaceUri: tns, localName: name }, el: pt });
    }
    for (const b of wsdlChildren(root, 'binding')) {
      const type = qnameAttribute(b, 'type');
      if (!type) continue;
      for (const op of wsdlChildren(b, 'operation')) {
        const soapOp = op.children.find((c): c is XmlElement => c.kind === 'element' && c.localName === 'operation' && (c.namespaceUri === WSDL_SOAP11_NS || c.namespaceUri === WSDL_SOAP12_NS));
        const action = soapOp && getAttribute(soapOp, 'soapAction');
        if (!action) continue;
        const k = `${key(type)}${getAttribute(op, 'name') ?? ''}`;
        const list = soapActions.get(k) ?? [];
        if (!list.includes(action)) list.push(action);
        soapActions.set(k, list);
      }
    }
  }
  const operations: WsdlOperation[] = [];
  for (const pt of portTypes) {
    const prefix = contractPrefix(pt.name);
    for (const op of wsdlChildren(pt.el, 'operation')) {
      const name = getAttribute(op, 'name');
      if (name === undefined) continue;
      const input = wsdlChildren(op, 'input')[0];
      const output = wsdlChildren(op, 'output')[0];
      const defaultInput = `${prefix}${name}`;
      const inputActions = [...new Set([input && declaredAction(input), ...(soapActions.get(`${key(pt.name)}${name}`) ?? []), defaultInput].filter((a): a is string => !!a))];
      const faults = wsdlChildren(op, 'fault').flatMap((f): WsdlFault[] => {
        const faultName = getAttribute(f, 'name');
        if (faultName === undefined) return [];
        const message = qnameAttribute(f, 'message');
        return [{ name: faultName, element: message && messages.get(key(message)), action: declaredAction(f) ?? `${prefix}${name}${faultName}` }];
      });
      const inputMessage = input && qnameAttribute(input, 'message');
      operations.push({
        portType: pt.name,
        name,
        inputActions,
        inputElement: inputMessage && messages.get(key(inputMessage)),
        outputAction: output && declaredAction(output),
        oneWay: output === undefined,
        faults,
      });
    }
  }
  return { soapVersions: versions, targetNamespace: roots[0] ? getAttribute(roots[0], 'targetNamespace') : undefined, operations, imports };
}

/** The operations a request with `action` is for (all of them when the action names none). */
function operationsFor(info: WsdlInfo, action: string | undefined): readonly WsdlOperation[] {
  const matched = action === undefined ? [] : info.operations.filter((op) => op.inputActions.includes(action));
  return matched.length ? matched : info.operations;
}

/**
 * The Action of a reply to a request with `requestAction`, as the service's contract names it:
 * for a fault, the action of the fault whose detail element is `detail`; for a reply, the
 * operation's output action. Undefined when the WSDL does not say.
 */
export function replyActionFor(info: WsdlInfo, requestAction: string | undefined, reply: { fault: false } | { fault: true; detail: QName | undefined }): string | undefined {
  const ops = operationsFor(info, requestAction);
  if (!reply.fault) {
    const actions = new Set(ops.map((op) => op.outputAction));
    return ops !== info.operations && actions.size === 1 ? [...actions][0] : undefined;
  }
  const detail = reply.detail;
  if (!detail) return undefined;
  const hits = new Set(ops.flatMap((op) => op.faults).filter((f) => f.element && key(f.element) === key(detail)).map((f) => f.action));
  return hits.size === 1 ? [...hits][0] : undefined;
}

/**
 * The SOAP version a call in `client` version should be sent in to a service offering `offered`:
 * the client's own when offered (or when nothing is known), else the first offered.
 */
export function chooseServiceVersion(client: SoapVersion, offered: readonly SoapVersion[] | undefined): SoapVersion {
  if (!offered || offered.length === 0 || offered.includes(client)) return client;
  return offered[0]!;
}
