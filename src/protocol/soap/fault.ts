/**
 * SOAP faults: build (SOAP 1.1 §4.4, SOAP 1.2 Part 1 §5.4) and parse.
 *
 * What WCF writes (wcf-wire.md §4.4):
 *   1.2: <s:Fault><s:Code><s:Value>s:Sender|s:Receiver</s:Value>[<s:Subcode><s:Value>p:Sub</s:Value></s:Subcode>]</s:Code>
 *        <s:Reason><s:Text xml:lang="en-US">…</s:Text></s:Reason>[<s:Detail>…</s:Detail>]</s:Fault>
 *   1.1: <s:Fault><faultcode>s:Client|s:Server|p:Sub</faultcode><faultstring xml:lang="en-US">…</faultstring>[<detail>…</detail>]</s:Fault>
 *        (a subcode, when present, replaces the 1.1 faultcode, as WCF's Soap11 fault writer does)
 * With WS-Addressing the fault carries Action (the addressing fault action, or WCF's dispatcher
 * fault action) and RelatesTo = the request's MessageID. The HTTP status is 500 for both
 * versions (the Mono captures and WCF on .NET both answer SOAP 1.2 faults with 500).
 *
 * Parsing is tolerant of what real peers send, e.g. Mono's SOAP 1.2 faults that put the custom
 * code straight into Code/Value (`a:DivideByZero`) instead of Sender + Subcode.
 */
import type { RelayError } from '../../core/errors';
import type { XmlLimits } from '../xml/limits';
import { writeXml } from '../xml/text-writer';
import { parseXml } from '../xml/text-reader';
import {
  attribute,
  childElements,
  createElement,
  elementText,
  findChild,
  namespaceDeclaration,
  parseXmlTree,
  resolveQNameText,
  textNode,
  treeTokens,
  type ResolvedQName,
  type XmlElement,
  type XmlNode,
} from '../xml/tree';
import type { XmlToken } from '../xml/tokens';
import {
  ADDRESSING_VERSIONS,
  SOAP_VERSIONS,
  soapVersionOfNamespace,
  type AddressingVersion,
  type SoapVersion,
} from './addressing';
import { readAddressing, scanEnvelope } from './envelope';

export interface QNameSpec {
  readonly namespaceUri: string;
  readonly localName: string;
  /** Prefix to write (default 'a', as WCF). */
  readonly prefix?: string;
}

export interface BuildFaultOptions {
  readonly soapVersion: SoapVersion;
  /** Who is at fault; written as Client/Server in SOAP 1.1. */
  readonly code: 'Sender' | 'Receiver';
  readonly subcode?: QNameSpec;
  /** Human-readable reason (escaped when written). */
  readonly reason: string;
  /** xml:lang of the reason. Default 'en-US'. */
  readonly lang?: string;
  /**
   * Detail content: tokens of one or more elements, or a self-contained well-formed XML element
   * as a string (parsed, so it cannot break the envelope).
   */
  readonly detail?: readonly XmlToken[] | string;
  /** Add WS-Addressing headers (when the request used addressing). */
  readonly addressing?: {
    readonly version: AddressingVersion;
    /** The request's MessageID. */
    readonly relatesTo?: string;
    /** Default: the version's addressing fault action. */
    readonly action?: string;
  };
  /** Default 500. */
  readonly httpStatus?: number;
}

export interface BuiltFault {
  readonly body: Buffer;
  readonly contentType: string;
  readonly httpStatus: number;
  /** The Action header written, if any. */
  readonly action?: string;
}

const ENV_PREFIX = 's';
const WSA_PREFIX = 'a';

/** Namespace of subcodes that name relaybridge error codes (faultFromError). */
export const RELAYBRIDGE_FAULT_NS = 'urn:relaybridge:errors';

function qnameValue(prefix: string, localName: string, el: XmlElement, namespace: string): XmlElement {
  // The Value/faultcode element declares the subcode's prefix itself, as WCF does.
  if (prefix !== ENV_PREFIX) el.attributes.push(namespaceDeclaration(prefix, namespace));
  el.children.push(textNode(`${prefix}:${localName}`));
  return el;
}

function detailNodes(detail: readonly XmlToken[] | string): XmlNode[] {
  const tokens = typeof detail === 'string' ? parseXml(detail) : detail;
  // Re-check token sequences from callers by writing and re-reading them once.
  const tree = parseXmlTree(`<d>${writeXml(tokens)}</d>`);
  return tree.children;
}

/** Builds a SOAP fault message in the given SOAP version. */
export function buildFault(options: BuildFaultOptions): BuiltFault {
  const v = SOAP_VERSIONS[options.soapVersion];
  const ns = v.envelopeNamespace;
  const lang = options.lang ?? 'en-US';
  const envelope = createElement(ENV_PREFIX, 'Envelope', ns, [namespaceDeclaration(ENV_PREFIX, ns)]);
  let action: string | undefined;

  if (options.addressing) {
    const a = ADDRESSING_VERSIONS[options.addressing.version];
    envelope.attributes.push(namespaceDeclaration(WSA_PREFIX, a.namespace));
    action = options.addressing.action ?? a.faultAction;
    const header = createElement(ENV_PREFIX, 'Header', ns, [], [
      createElement(WSA_PREFIX, 'Action', a.namespace, [attribute(ENV_PREFIX, 'mustUnderstand', '1')], [textNode(action)]),
    ]);
    if (options.addressing.relatesTo !== undefined) {
      header.children.push(createElement(WSA_PREFIX, 'RelatesTo', a.namespace, [], [textNode(options.addressing.relatesTo)]));
    }
    envelope.children.push(header);
  }

  const fault = createElement(ENV_PREFIX, 'Fault', ns);
  const sub = options.subcode;
  const subPrefix = sub ? (sub.namespaceUri === ns ? ENV_PREFIX : sub.prefix ?? 'a') : '';
  const xmlLang = attribute('xml', 'lang', lang);
  if (options.soapVersion === 'soap12') {
    const code = createElement(ENV_PREFIX, 'Code', ns, [], [
      createElement(ENV_PREFIX, 'Value', ns, [], [textNode(`${ENV_PREFIX}:${options.code}`)]),
    ]);
    if (sub) {
      code.children.push(createElement(ENV_PREFIX, 'Subcode', ns, [], [
        qnameValue(subPrefix, sub.localName, createElement(ENV_PREFIX, 'Value', ns), sub.namespaceUri),
      ]));
    }
    fault.children.push(code, createElement(ENV_PREFIX, 'Reason', ns, [], [
      createElement(ENV_PREFIX, 'Text', ns, [xmlLang], [textNode(options.reason)]),
    ]));
    if (options.detail !== undefined) fault.children.push(createElement(ENV_PREFIX, 'Detail', ns, [], detailNodes(options.detail)));
  } else {
    const faultcode = createElement('', 'faultcode', '');
    if (sub) qnameValue(subPrefix, sub.localName, faultcode, sub.namespaceUri);
    else faultcode.children.push(textNode(`${ENV_PREFIX}:${options.code === 'Sender' ? v.senderCode : v.receiverCode}`));
    fault.children.push(faultcode, createElement('', 'faultstring', '', [xmlLang], [textNode(options.reason)]));
    if (options.detail !== undefined) fault.children.push(createElement('', 'detail', '', [], detailNodes(options.detail)));
  }
  envelope.children.push(createElement(ENV_PREFIX, 'Body', ns, [], [fault]));

  return {
    body: Buffer.from(writeXml(treeTokens(envelope)), 'utf8'),
    contentType: v.contentType,
    httpStatus: options.httpStatus ?? 500,
    action,
  };
}

/**
 * A fault for a RelayError: code from its soapFaultCode (default Receiver), subcode
 * {urn:relaybridge:errors}<error code>, reason = message, HTTP status 500.
 */
export function faultFromError(
  err: RelayError,
  soapVersion: SoapVersion,
  request?: { readonly addressing?: { readonly version: AddressingVersion; readonly messageId?: string } },
): BuiltFault {
  const addressing = request?.addressing;
  return buildFault({
    soapVersion,
    code: err.soapFaultCode ?? 'Receiver',
    subcode: { namespaceUri: RELAYBRIDGE_FAULT_NS, localName: err.code, prefix: 'r' },
    reason: err.message,
    addressing: addressing ? { version: addressing.version, relatesTo: addressing.messageId } : undefined,
  });
}

export type FaultKind = 'Sender' | 'Receiver' | 'VersionMismatch' | 'MustUnderstand' | 'DataEncodingUnknown';

export interface ParsedFault {
  readonly soapVersion: SoapVersion;
  /** 1.2 Code/Value, 1.1 faultcode, resolved. */
  readonly code: ResolvedQName;
  /** Standard kind when the code is in the envelope namespace (Client -> Sender, Server -> Receiver). */
  readonly kind: FaultKind | undefined;
  /** 1.2 Subcode/Value chain, outermost first. */
  readonly subcodes: readonly ResolvedQName[];
  /** First Reason/Text (1.2) or faultstring (1.1). */
  readonly reason: string;
  readonly lang: string | undefined;
  /** 1.2 Role or 1.1 faultactor. */
  readonly role: string | undefined;
  /** 1.2 Node. */
  readonly node: string | undefined;
  /** The Detail / detail element (children are the detail entries). */
  readonly detail: XmlElement | undefined;
  /** WS-Addressing Action and RelatesTo, when present. */
  readonly action: string | undefined;
  readonly relatesTo: string | undefined;
}

function kindOf(code: ResolvedQName, envNs: string): FaultKind | undefined {
  if (code.namespaceUri !== envNs) return undefined;
  switch (code.localName) {
    case 'Client':
    case 'Sender':
      return 'Sender';
    case 'Server':
    case 'Receiver':
      return 'Receiver';
    case 'VersionMismatch':
    case 'MustUnderstand':
    case 'DataEncodingUnknown':
      return code.localName;
    default:
      return undefined;
  }
}

/** Reads the fault out of a tree already known to be a SOAP envelope. */
export function readFaultElement(fault: XmlElement, soapVersion: SoapVersion): Omit<ParsedFault, 'action' | 'relatesTo'> {
  const ns = SOAP_VERSIONS[soapVersion].envelopeNamespace;
  if (soapVersion === 'soap12') {
    const codeEl = findChild(fault, ns, 'Code');
    const valueEl = codeEl && findChild(codeEl, ns, 'Value');
    const code = valueEl ? resolveQNameText(valueEl, elementText(valueEl)) : { prefix: '', localName: '', namespaceUri: '' };
    const subcodes: ResolvedQName[] = [];
    for (let sub = codeEl && findChild(codeEl, ns, 'Subcode'); sub; sub = findChild(sub, ns, 'Subcode')) {
      const value = findChild(sub, ns, 'Value');
      if (value) subcodes.push(resolveQNameText(value, elementText(value)));
    }
    const reasonEl = findChild(fault, ns, 'Reason');
    const text = reasonEl && findChild(reasonEl, ns, 'Text');
    const lang = text?.attributes.find((a) => a.prefix === 'xml' && a.localName === 'lang')?.value;
    const role = findChild(fault, ns, 'Role');
    const node = findChild(fault, ns, 'Node');
    return {
      soapVersion,
      code,
      kind: kindOf(code, ns),
      subcodes,
      reason: text ? elementText(text) : '',
      lang,
      role: role && elementText(role).trim(),
      node: node && elementText(node).trim(),
      detail: findChild(fault, ns, 'Detail'),
    };
  }
  // SOAP 1.1 fault children are unqualified; some stacks (SoapCore) qualify faultcode, which is
  // read too (an unqualified child wins).
  const children = childElements(fault);
  const child = (name: string): XmlElement | undefined =>
    children.find((c) => c.localName === name && c.namespaceUri === '') ?? children.find((c) => c.localName === name && c.namespaceUri !== ns);
  const codeEl = child('faultcode');
  const code = codeEl ? resolveQNameText(codeEl, elementText(codeEl)) : { prefix: '', localName: '', namespaceUri: '' };
  const stringEl = child('faultstring');
  const actor = child('faultactor');
  return {
    soapVersion,
    code,
    kind: kindOf(code, ns),
    subcodes: [],
    reason: stringEl ? elementText(stringEl) : '',
    lang: stringEl?.attributes.find((a) => a.prefix === 'xml' && a.localName === 'lang')?.value,
    role: actor && elementText(actor).trim(),
    node: undefined,
    detail: child('detail'),
  };
}

/**
 * Parses a fault out of a SOAP message; undefined when the Body holds no Fault.
 * Throws ProtocolError when the message is not a SOAP envelope.
 */
export function parseFault(message: Buffer | string, limits?: Partial<XmlLimits>): ParsedFault | undefined {
  const structure = scanEnvelope(message, limits);
  if (!structure.isFault) return undefined;
  const root = parseXmlTree(message, limits);
  const ns = root.namespaceUri;
  const soapVersion = soapVersionOfNamespace(ns)!;
  const body = findChild(root, ns, 'Body')!;
  const fault = findChild(body, ns, 'Fault')!;
  const addressing = readAddressing(structure.headers);
  return { ...readFaultElement(fault, soapVersion), action: addressing?.action, relatesTo: addressing?.relatesTo };
}
