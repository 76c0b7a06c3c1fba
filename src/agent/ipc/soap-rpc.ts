/**
 * Envelope <-> plain values for operations served by IPC processes (document/literal wrapped,
 * the WCF default): the Body's first element names the operation and its children are the
 * arguments; the reply is `<{Op}Response xmlns="{ns}"><{Op}Result>…</{Op}Result></{Op}Response>`
 * in the caller's SOAP version, with Action `{request action}Response` and RelatesTo when the
 * caller used WS-Addressing (wcf-wire.md §4.2, §4.3).
 *
 * Values: arguments arrive as strings (no schema is consulted), nested elements as objects and
 * repeated elements as arrays, `xsi:nil="true"` as null. Results are written the other way round:
 * objects become child elements, arrays repeated elements, Dates ISO 8601, Buffers base64.
 */
import { ProtocolError } from '../../core/errors';
import { ADDRESSING_VERSIONS, SOAP_VERSIONS, WCF_DISPATCHER_FAULT_ACTION, type SoapVersion } from '../../protocol/soap/addressing';
import type { AddressingInfo } from '../../protocol/soap/envelope';
import { buildFault } from '../../protocol/soap/fault';
import type { XmlLimits } from '../../protocol/xml/limits';
import { writeXml } from '../../protocol/xml/text-writer';
import {
  attribute,
  childElements,
  createElement,
  elementText,
  findChild,
  lookupNamespace,
  namespaceDeclaration,
  parseXmlTree,
  textNode,
  treeTokens,
  type XmlElement,
} from '../../protocol/xml/tree';
import type { IpcFault } from './ipc-protocol';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

export interface RpcCall {
  /** Local name of the Body's first element (the operation's wrapper element). */
  readonly element: string;
  readonly namespace: string;
  readonly args: Record<string, unknown>;
}

/** Reads the operation element and its arguments from a SOAP 1.1/1.2 envelope. */
export function readRpcCall(message: Buffer, limits?: Partial<XmlLimits>): RpcCall {
  const root = parseXmlTree(message, limits);
  const body = findChild(root, root.namespaceUri, 'Body');
  const op = body && childElements(body)[0];
  if (!op) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'the SOAP Body holds no operation element');
  const value = elementValue(op);
  return { element: op.localName, namespace: op.namespaceUri, args: value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {} };
}

function isNil(el: XmlElement): boolean {
  return el.attributes.some(
    (a) => !a.isNamespaceDeclaration && a.localName === 'nil' && a.prefix !== '' && lookupNamespace(el, a.prefix) === XSI_NS && (a.value.trim() === 'true' || a.value.trim() === '1'),
  );
}

/** An element as a value: text, null (xsi:nil), or an object of its children (repeats → arrays). */
export function elementValue(el: XmlElement): unknown {
  if (isNil(el)) return null;
  const kids = childElements(el);
  if (kids.length === 0) return elementText(el);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of kids) {
    const v = elementValue(k);
    const prev = out[k.localName];
    if (prev === undefined) out[k.localName] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k.localName] = [prev, v];
  }
  return { ...out };
}

function valueNodes(name: string, value: unknown, out: XmlElement[]): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) valueNodes(name, v, out);
    return;
  }
  const el = createElement('', name, '');
  if (value === null) el.attributes.push(namespaceDeclaration('i', XSI_NS), attribute('i', 'nil', 'true'));
  else if (value instanceof Date) el.children.push(textNode(value.toISOString()));
  else if (Buffer.isBuffer(value) || value instanceof Uint8Array) el.children.push(textNode(Buffer.from(value).toString('base64')));
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) valueNodes(k, v, el.children as XmlElement[]);
  } else el.children.push(textNode(String(value)));
  out.push(el);
}

export interface RpcReplyOptions {
  readonly soapVersion: SoapVersion;
  /** The operation name (the request's wrapper element). */
  readonly operation: string;
  /** Namespace of the request's wrapper element (the reply uses the same). */
  readonly namespace: string;
  readonly result: unknown;
  /** Put the result's fields straight into `{Op}Response` instead of `{Op}Result`. */
  readonly bare?: boolean;
  readonly addressing?: AddressingInfo;
  readonly action?: string;
}

const ENV = 's';
const WSA = 'a';

function envelopeWith(soapVersion: SoapVersion, addressing: AddressingInfo | undefined, action: string | undefined, payload: XmlElement): Buffer {
  const ns = SOAP_VERSIONS[soapVersion].envelopeNamespace;
  const env = createElement(ENV, 'Envelope', ns, [namespaceDeclaration(ENV, ns)]);
  if (addressing) {
    const wsa = ADDRESSING_VERSIONS[addressing.version].namespace;
    env.attributes.push(namespaceDeclaration(WSA, wsa));
    const header = createElement(ENV, 'Header', ns);
    if (action !== undefined) header.children.push(createElement(WSA, 'Action', wsa, [attribute(ENV, 'mustUnderstand', '1')], [textNode(action)]));
    if (addressing.messageId !== undefined) header.children.push(createElement(WSA, 'RelatesTo', wsa, [], [textNode(addressing.messageId)]));
    env.children.push(header);
  }
  env.children.push(createElement(ENV, 'Body', ns, [], [payload]));
  return Buffer.from(`<?xml version="1.0" encoding="utf-8"?>${writeXml(treeTokens(env))}`, 'utf8');
}

/** The reply envelope for a successful call. */
export function buildRpcReply(o: RpcReplyOptions): Buffer {
  const wrapper = createElement('', `${o.operation}Response`, o.namespace, [namespaceDeclaration('', o.namespace)]);
  if (o.bare && o.result !== null && typeof o.result === 'object' && !Array.isArray(o.result)) {
    for (const [k, v] of Object.entries(o.result as Record<string, unknown>)) valueNodes(k, v, wrapper.children as XmlElement[]);
  } else valueNodes(`${o.operation}Result`, o.result, wrapper.children as XmlElement[]);
  const action = o.addressing ? (o.action ?? (o.addressing.action !== undefined ? `${o.addressing.action}Response` : undefined)) : undefined;
  return envelopeWith(o.soapVersion, o.addressing, action, wrapper);
}

/** The fault envelope for a fault raised by an IPC process (typed: its action, subcode and detail). */
export function buildRpcFault(soapVersion: SoapVersion, fault: IpcFault, addressing: AddressingInfo | undefined): { body: Buffer; contentType: string } {
  const built = buildFault({
    soapVersion,
    code: fault.code === 'Sender' ? 'Sender' : 'Receiver',
    subcode: fault.subcode ? { namespaceUri: fault.subcode.namespaceUri, localName: fault.subcode.localName, prefix: 'f' } : undefined,
    reason: fault.reason,
    detail: fault.detail,
    addressing: addressing
      ? { version: addressing.version, relatesTo: addressing.messageId, action: fault.action ?? WCF_DISPATCHER_FAULT_ACTION }
      : undefined,
  });
  return { body: built.body, contentType: built.contentType };
}
