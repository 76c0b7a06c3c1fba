/**
 * SOAP 1.1 <-> SOAP 1.2 (+ WS-Addressing) envelope translation, for an agent that forwards a
 * client's call to a service with another binding (BasicHttp <-> WSHttp), and for the replies.
 *
 * What changes (SOAP 1.2 Part 0 §6 "Changes between SOAP 1.1 and SOAP 1.2"; wcf-wire.md §4.2-4.5):
 * - the envelope namespace: every declaration of one version's namespace is rebound to the other;
 * - header block attributes: mustUnderstand "true"/"false" -> "1"/"0" for 1.1; actor <-> role
 *   (with the "next" URIs mapped); the 1.2-only `relay` attribute is dropped;
 * - WS-Addressing: requests to 1.1 lose their addressing headers (the action moves to SOAPAction);
 *   requests to 1.2 gain Action, MessageID, ReplyTo (anonymous) and To as WCF writes them;
 *   replies to 1.2 gain Action (request action + "Response" unless known) and RelatesTo;
 * - faults: faultcode/faultstring/faultactor/detail <-> Code(+Subcode)/Reason/Role/Detail.
 * Everything else (other headers, the Body's content) is carried over token for token.
 * Message ids are injected (`newMessageId`), so this module stays pure.
 */
import type { XmlLimits } from '../xml/limits';
import { writeXml } from '../xml/text-writer';
import {
  attribute,
  childElements,
  createElement,
  findChild,
  lookupNamespace,
  namespaceDeclaration,
  parseXmlTree,
  textNode,
  treeTokens,
  type ResolvedQName,
  type XmlElement,
  type XmlNode,
} from '../xml/tree';
import {
  ADDRESSING_VERSIONS,
  addressingVersionOfNamespace,
  SOAP_VERSIONS,
  soapVersionOfNamespace,
  WCF_ADDRESSING_NONE_NS,
  WCF_DISPATCHER_FAULT_ACTION,
  type AddressingVersion,
  type SoapVersion,
} from './addressing';
import { formatSoapActionHeader, soap12ContentType } from './content-type';
import { scanEnvelope, type AddressingInfo } from './envelope';
import { readFaultElement } from './fault';
import { ProtocolError } from '../../core/errors';

export interface TranslatedRequest {
  readonly body: Buffer;
  readonly soapVersion: SoapVersion;
  readonly contentType: string;
  /** HTTP headers for the forwarded call: Content-Type, plus SOAPAction for SOAP 1.1. */
  readonly httpHeaders: Readonly<Record<string, string>>;
  readonly action: string | undefined;
  /** The addressing the caller used (1.2 -> 1.1) or that was generated (1.1 -> 1.2): keep it to translate the reply. */
  readonly addressing: AddressingInfo | undefined;
}

export interface TranslatedResponse {
  readonly body: Buffer;
  readonly soapVersion: SoapVersion;
  readonly contentType: string;
  readonly isFault: boolean;
  /** The reply's action, when known. */
  readonly action: string | undefined;
}

/** Fault subcodes that WCF raises as Receiver faults (everything else custom maps to Sender). */
const RECEIVER_SUBCODES = new Set(['InternalServiceFault']);

interface Envelope {
  readonly root: XmlElement;
  readonly version: SoapVersion;
  readonly header: XmlElement | undefined;
  readonly body: XmlElement;
}

function open(message: Buffer | string, expected: SoapVersion, limits?: Partial<XmlLimits>): Envelope {
  const root = parseXmlTree(message, limits);
  const version = soapVersionOfNamespace(root.namespaceUri);
  if (root.localName !== 'Envelope' || version === undefined) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Invalid SOAP message: root element is {${root.namespaceUri}}${root.localName}`);
  }
  if (version !== expected) {
    throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `Invalid SOAP message: expected a SOAP ${expected === 'soap11' ? '1.1' : '1.2'} envelope`);
  }
  const ns = root.namespaceUri;
  const body = findChild(root, ns, 'Body');
  if (!body) throw new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'Invalid SOAP message: Envelope has no Body');
  return { root, version, header: findChild(root, ns, 'Header'), body };
}

function serialize(root: XmlElement): Buffer {
  return Buffer.from(writeXml(treeTokens(root)), 'utf8');
}

/** Walks every element of a subtree (iteratively). */
function* elements(root: XmlElement): Generator<XmlElement> {
  const stack: XmlElement[] = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    yield el;
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.kind === 'element') stack.push(c);
    }
  }
}

/** Header-block attributes and every namespace declaration moved from one SOAP version to the other. */
function convertNamespace(env: Envelope, to: SoapVersion): void {
  const from = SOAP_VERSIONS[env.version];
  const target = SOAP_VERSIONS[to];
  // 1. Header block attributes, resolved against the declarations as they were.
  for (const block of env.header ? childElements(env.header) : []) {
    block.attributes = block.attributes.flatMap((a) => {
      if (a.isNamespaceDeclaration || a.prefix === '' || lookupNamespace(block, a.prefix) !== from.envelopeNamespace) return [a];
      if (a.localName === 'mustUnderstand' && to === 'soap11') {
        const v = a.value.trim();
        return [{ ...a, value: v === 'true' ? '1' : v === 'false' ? '0' : v }];
      }
      if (a.localName === from.roleAttribute) {
        return [{ ...a, localName: target.roleAttribute, value: a.value.trim() === from.nextRole ? target.nextRole : a.value }];
      }
      if (a.localName === 'relay' && to === 'soap11') return [];
      return [a];
    });
  }
  // 2. Rebind declarations, and keep namespaceUri fields truthful for later lookups.
  for (const el of elements(env.root)) {
    el.attributes = el.attributes.map((a) => (a.isNamespaceDeclaration && a.value === from.envelopeNamespace ? { ...a, value: target.envelopeNamespace } : a));
    if (el.namespaceUri === from.envelopeNamespace) el.namespaceUri = target.envelopeNamespace;
  }
}

function declares(el: XmlElement, prefix: string): boolean {
  return el.attributes.some((a) => a.isNamespaceDeclaration && (prefix === '' ? a.prefix === '' && a.localName === 'xmlns' : a.prefix === 'xmlns' && a.localName === prefix));
}

function usesPrefix(el: XmlElement, prefix: string): boolean {
  const needle = `${prefix}:`;
  if (el.prefix === prefix) return true;
  for (const a of el.attributes) {
    if (!a.isNamespaceDeclaration && (a.prefix === prefix || a.value.includes(needle))) return true;
  }
  return el.children.some((c) => c.kind === 'text' && c.value.includes(needle));
}

/**
 * Does anything in `owner`'s subtree use `prefix` (as a name prefix, or as a QName in text or
 * attribute values, conservatively) without a closer declaration of its own? Then a
 * declaration of `prefix` on `owner` is needed (or, if owner has none, would capture it).
 */
function prefixDependsOn(owner: XmlElement, prefix: string): boolean {
  const stack: XmlElement[] = [owner];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el !== owner && declares(el, prefix)) continue; // shadowed: nothing below depends on owner
    if (usesPrefix(el, prefix)) return true;
    for (const c of el.children) if (c.kind === 'element') stack.push(c);
  }
  return false;
}

/** Removes header blocks in the addressing namespaces, drops the Header if it became empty, and unused wsa declarations. */
function removeAddressing(env: Envelope, extraNamespaces: readonly string[] = []): Envelope {
  const isAddressing = (ns: string): boolean => addressingVersionOfNamespace(ns) !== undefined || extraNamespaces.includes(ns);
  let header = env.header;
  if (header) {
    header.children = header.children.filter((c) => c.kind !== 'element' || !isAddressing(c.namespaceUri));
    if (childElements(header).length === 0 && header.children.every((c) => c.kind === 'text' && c.value.trim() === '')) {
      env.root.children = env.root.children.filter((c) => c !== header);
      header = undefined;
    }
  }
  for (const el of [env.root, ...(header ? [header] : [])]) {
    el.attributes = el.attributes.filter((a) => !(a.isNamespaceDeclaration && a.prefix === 'xmlns' && isAddressing(a.value) && !prefixDependsOn(el, a.localName)));
  }
  return { ...env, header };
}

/** A prefix to declare on the Envelope for `uri`: `preferred`, else preferred1, preferred2, ... */
function freePrefix(env: Envelope, preferred: string, uri: string): { prefix: string; declared: boolean } {
  for (let i = 0; ; i++) {
    const prefix = i === 0 ? preferred : `${preferred}${i}`;
    const bound = lookupNamespace(env.root, prefix);
    const shadowedInHeader = env.header !== undefined && declares(env.header, prefix);
    if (bound === uri && !shadowedInHeader) return { prefix, declared: true };
    if (bound === undefined && !shadowedInHeader && !prefixDependsOn(env.root, prefix)) return { prefix, declared: false };
  }
}

/** Adds addressing header blocks at the start of the Header (created if missing). */
function addAddressingHeaders(env: Envelope, version: AddressingVersion, build: (p: string, mu: () => ReturnType<typeof attribute>) => XmlElement[]): void {
  const wsa = ADDRESSING_VERSIONS[version];
  const { prefix, declared } = freePrefix(env, 'a', wsa.namespace);
  // WCF declares the addressing prefix first on the Envelope.
  if (!declared) env.root.attributes.unshift(namespaceDeclaration(prefix, wsa.namespace));
  const envNs = env.root.namespaceUri;
  let envPrefix = env.root.prefix;
  if (envPrefix === '') {
    const free = freePrefix(env, 's', envNs);
    if (!free.declared) env.root.attributes.push(namespaceDeclaration(free.prefix, envNs));
    envPrefix = free.prefix;
  }
  const blocks = build(prefix, () => attribute(envPrefix, 'mustUnderstand', '1'));
  if (env.header) {
    env.header.children.unshift(...blocks);
  } else {
    env.root.children.unshift(createElement(env.root.prefix, 'Header', envNs, [], blocks));
  }
}

function simple(prefix: string, localName: string, ns: string, value: string, attrs: ReturnType<typeof attribute>[] = []): XmlElement {
  return createElement(prefix, localName, ns, attrs, [textNode(value)]);
}

/** Writes a QName as element text, declaring its prefix on the element when `lookup` does not bind it. */
function qnameText(el: XmlElement, q: ResolvedQName, lookup: (prefix: string) => string | undefined): XmlElement {
  let prefix = q.prefix;
  if (q.namespaceUri !== '' && (prefix === '' || lookup(prefix) !== q.namespaceUri)) {
    if (prefix === '') prefix = 'q';
    el.attributes.push(namespaceDeclaration(prefix, q.namespaceUri));
  }
  el.children = [textNode(prefix === '' ? q.localName : `${prefix}:${q.localName}`)];
  return el;
}

/** Unqualified children need `xmlns=""` when a default namespace is in scope. */
function unqualified(localName: string, scope: XmlElement, attrs: ReturnType<typeof attribute>[] = [], children: XmlNode[] = []): XmlElement {
  const needsReset = lookupNamespace(scope, '') !== '';
  return createElement('', localName, '', needsReset ? [namespaceDeclaration('', ''), ...attrs] : attrs, children);
}

function langAttribute(lang: string | undefined): ReturnType<typeof attribute>[] {
  return [attribute('xml', 'lang', lang ?? 'en-US')];
}

/** Replaces a Fault element's content with the other version's structure (called before convertNamespace). */
function convertFault(env: Envelope, to: SoapVersion): boolean {
  const fromNs = env.root.namespaceUri;
  const fault = findChild(env.body, fromNs, 'Fault');
  if (!fault) return false;
  const parsed = readFaultElement(fault, env.version);
  const toNs = SOAP_VERSIONS[to].envelopeNamespace;
  const p = fault.prefix;
  // Element names keep the Fault's prefix, which is bound to the envelope namespace (rebound later).
  const envQName = (localName: string): ResolvedQName => ({ prefix: p === '' ? 'e' : p, localName, namespaceUri: toNs });
  const detailChildren = parsed.detail?.children ?? [];
  // Prefixes as they will resolve once convertNamespace has rebound the envelope namespace.
  const lookup = (prefix: string): string | undefined => {
    const uri = lookupNamespace(fault, prefix);
    return uri === fromNs ? toNs : uri;
  };
  if (to === 'soap12') {
    let value: ResolvedQName;
    let subcode: ResolvedQName | undefined;
    if (parsed.kind !== undefined) {
      value = envQName(parsed.kind);
    } else if (parsed.code.localName === '') {
      value = envQName('Receiver'); // no faultcode: nothing to carry as a subcode
    } else {
      value = envQName(RECEIVER_SUBCODES.has(parsed.code.localName) ? 'Receiver' : 'Sender');
      subcode = parsed.code;
    }
    const mk = (localName: string, attrs: ReturnType<typeof attribute>[] = [], children: XmlNode[] = []): XmlElement =>
      createElement(p, localName, toNs, attrs, children);
    const code = mk('Code', [], [qnameText(mk('Value'), value, lookup)]);
    if (subcode) code.children.push(mk('Subcode', [], [qnameText(mk('Value'), subcode, lookup)]));
    fault.children = [code, mk('Reason', [], [mk('Text', langAttribute(parsed.lang), [textNode(parsed.reason)])])];
    if (parsed.role !== undefined) fault.children.push(mk('Role', [], [textNode(parsed.role)]));
    if (parsed.detail) fault.children.push(mk('Detail', [], detailChildren));
    return true;
  }
  let code: ResolvedQName;
  if (parsed.subcodes.length > 0) code = parsed.subcodes[0]!;
  else if (parsed.kind === 'Sender') code = envQName('Client');
  else if (parsed.kind === 'Receiver') code = envQName('Server');
  else if (parsed.kind !== undefined) code = envQName(parsed.kind);
  else code = parsed.code; // e.g. Mono's custom Code/Value
  fault.children = [
    qnameText(unqualified('faultcode', fault), code, lookup),
    unqualified('faultstring', fault, langAttribute(parsed.lang), [textNode(parsed.reason)]),
  ];
  if (parsed.role !== undefined) fault.children.push(unqualified('faultactor', fault, [], [textNode(parsed.role)]));
  if (parsed.detail) {
    const inherited = lookupNamespace(parsed.detail, '') ?? '';
    const detail = unqualified('detail', fault, [], detailChildren);
    // Entries that relied on an inherited default namespace keep it despite xmlns="" on detail.
    if (inherited !== '' && detail.attributes.some((a) => a.isNamespaceDeclaration && a.localName === 'xmlns')) {
      for (const entry of childElements(detail)) {
        if (!entry.attributes.some((a) => a.isNamespaceDeclaration && a.prefix === '' && a.localName === 'xmlns')) {
          entry.attributes.unshift(namespaceDeclaration('', inherited));
        }
      }
    }
    fault.children.push(detail);
  }
  return true;
}

export interface Soap12To11RequestOptions {
  /** Action to use when the message has no wsa:Action (e.g. the Content-Type action parameter). */
  readonly action?: string;
  readonly limits?: Partial<XmlLimits>;
}

/**
 * SOAP 1.2 (+ WS-Addressing) request -> SOAP 1.1 request with SOAPAction: addressing headers
 * dropped (keep `addressing` from the result to translate the reply), other headers kept.
 */
export function soap12RequestToSoap11(message: Buffer | string, options: Soap12To11RequestOptions = {}): TranslatedRequest {
  const structure = scanEnvelope(message, options.limits);
  const addressing = structure.addressing;
  const action = addressing?.action ?? options.action;
  let env = open(message, 'soap12', options.limits);
  env = removeAddressing(env);
  convertNamespace(env, 'soap11');
  const contentType = SOAP_VERSIONS.soap11.contentType;
  return {
    body: serialize(env.root),
    soapVersion: 'soap11',
    contentType,
    httpHeaders: { 'Content-Type': contentType, SOAPAction: formatSoapActionHeader(action ?? '') },
    action,
    addressing,
  };
}

export interface Soap11To12RequestOptions {
  /** The request's action (from SOAPAction). */
  readonly action: string | undefined;
  /** The service address for wsa:To (WCF checks it); omitted when undefined. */
  readonly to?: string;
  /** Generates a MessageID, e.g. () => `urn:uuid:${randomUUID()}` (injected: this module does no I/O). */
  readonly newMessageId: () => string;
  /** One-way: no MessageID and no ReplyTo (WCF one-way, wcf-wire.md §4.2). Default false. */
  readonly oneWay?: boolean;
  /** Default WS-Addressing 1.0. */
  readonly addressingVersion?: AddressingVersion;
  readonly limits?: Partial<XmlLimits>;
}

/** SOAP 1.1 request -> SOAP 1.2 + WS-Addressing request: Action, MessageID, ReplyTo, To as WCF writes them. */
export function soap11RequestToSoap12(message: Buffer | string, options: Soap11To12RequestOptions): TranslatedRequest {
  const env = open(message, 'soap11', options.limits);
  convertNamespace(env, 'soap12');
  const version = options.addressingVersion ?? 'wsa10';
  const wsa = ADDRESSING_VERSIONS[version];
  const messageId = options.oneWay ? undefined : options.newMessageId();
  addAddressingHeaders(env, version, (a, mu) => {
    const blocks: XmlElement[] = [];
    if (options.action !== undefined) blocks.push(simple(a, 'Action', wsa.namespace, options.action, [mu()]));
    if (messageId !== undefined) {
      blocks.push(simple(a, 'MessageID', wsa.namespace, messageId));
      blocks.push(createElement(a, 'ReplyTo', wsa.namespace, [], [simple(a, 'Address', wsa.namespace, wsa.anonymous)]));
    }
    if (options.to !== undefined) blocks.push(simple(a, 'To', wsa.namespace, options.to, [mu()]));
    return blocks;
  });
  const contentType = soap12ContentType(options.action);
  return {
    body: serialize(env.root),
    soapVersion: 'soap12',
    contentType,
    httpHeaders: { 'Content-Type': contentType },
    action: options.action,
    addressing: {
      version,
      namespace: wsa.namespace,
      action: options.action,
      to: options.to,
      messageId,
      replyTo: messageId === undefined ? undefined : wsa.anonymous,
    },
  };
}

export interface Soap11To12ResponseOptions {
  /** The original request's action and MessageID (from the 1.2 request's addressing). */
  readonly request: { readonly action?: string; readonly messageId?: string };
  /** Default WS-Addressing 1.0. */
  readonly addressingVersion?: AddressingVersion;
  /** The action of a (non-fault) reply when known (e.g. from the WSDL); default request action + "Response". */
  readonly responseAction?: string;
  /**
   * The action of a fault whose detail carries `detail` (its first element), when the contract
   * names one (e.g. from the WSDL). WCF clients match typed faults by this action.
   */
  readonly faultAction?: (detail: { readonly namespaceUri: string; readonly localName: string } | undefined) => string | undefined;
  readonly limits?: Partial<XmlLimits>;
}

/**
 * SOAP 1.1 response -> SOAP 1.2 + WS-Addressing response: Action and RelatesTo added, faults
 * converted. A fault's Action is, in order: the contract's (`faultAction`), the 1.1 message's
 * own (WCF "addressing none") Action header, WCF's dispatcher fault action.
 */
export function soap11ResponseToSoap12(message: Buffer | string, options: Soap11To12ResponseOptions): TranslatedResponse {
  let env = open(message, 'soap11', options.limits);
  // WCF (and Mono) put an Action header in the "addressing none" namespace on 1.1 faults.
  const noneAction = env.header && findChild(env.header, WCF_ADDRESSING_NONE_NS, 'Action');
  const knownAction = noneAction ? childText(noneAction) : undefined;
  env = removeAddressing(env, [WCF_ADDRESSING_NONE_NS]);
  const entry = options.faultAction && faultDetailEntry(env);
  const detail = entry ? { namespaceUri: entry.namespaceUri, localName: entry.localName } : undefined;
  const isFault = convertFault(env, 'soap12');
  convertNamespace(env, 'soap12');
  const version = options.addressingVersion ?? 'wsa10';
  const wsa = ADDRESSING_VERSIONS[version];
  const action = isFault
    ? (options.faultAction?.(detail) ?? knownAction ?? WCF_DISPATCHER_FAULT_ACTION)
    : (options.responseAction ?? (options.request.action !== undefined ? `${options.request.action}Response` : undefined));
  addAddressingHeaders(env, version, (a, mu) => {
    const blocks: XmlElement[] = [];
    if (action !== undefined) blocks.push(simple(a, 'Action', wsa.namespace, action, [mu()]));
    if (options.request.messageId !== undefined) blocks.push(simple(a, 'RelatesTo', wsa.namespace, options.request.messageId));
    return blocks;
  });
  return { body: serialize(env.root), soapVersion: 'soap12', contentType: SOAP_VERSIONS.soap12.contentType, isFault, action };
}

/**
 * A SOAP 1.2 fault without a WS-Addressing Action (SoapCore writes none) for a caller that uses
 * WS-Addressing: the Action is added (the contract's for the fault's detail, when `faultAction`
 * knows it, else WCF's dispatcher fault action), and RelatesTo when the fault has none, as WCF
 * writes them; WCF clients match typed faults by that Action. Undefined for anything else (not a
 * fault, or one that has its Action): the message stays as it is.
 */
export function addressSoap12Fault(
  message: Buffer | string,
  options: Pick<Soap11To12ResponseOptions, 'request' | 'addressingVersion' | 'faultAction' | 'limits'>,
): TranslatedResponse | undefined {
  const env = open(message, 'soap12', options.limits);
  const ns = env.root.namespaceUri;
  const fault = findChild(env.body, ns, 'Fault');
  if (!fault) return undefined;
  const headers = env.header ? childElements(env.header).filter((c) => addressingVersionOfNamespace(c.namespaceUri) !== undefined) : [];
  if (headers.some((c) => c.localName === 'Action')) return undefined;
  const hasRelatesTo = headers.some((c) => c.localName === 'RelatesTo');
  const detail = childElements(fault).find((c) => c.localName === 'Detail' && c.namespaceUri === ns);
  const entry = detail && childElements(detail)[0];
  const action = options.faultAction?.(entry ? { namespaceUri: entry.namespaceUri, localName: entry.localName } : undefined) ?? WCF_DISPATCHER_FAULT_ACTION;
  const version = options.addressingVersion ?? 'wsa10';
  const wsa = ADDRESSING_VERSIONS[version];
  addAddressingHeaders(env, version, (a, mu) => [
    simple(a, 'Action', wsa.namespace, action, [mu()]),
    ...(!hasRelatesTo && options.request.messageId !== undefined ? [simple(a, 'RelatesTo', wsa.namespace, options.request.messageId)] : []),
  ]);
  return { body: serialize(env.root), soapVersion: 'soap12', contentType: SOAP_VERSIONS.soap12.contentType, isFault: true, action };
}

/** SOAP 1.2 (+ WS-Addressing) response -> SOAP 1.1 response: addressing dropped, faults converted. */
export function soap12ResponseToSoap11(message: Buffer | string, options: { readonly limits?: Partial<XmlLimits> } = {}): TranslatedResponse {
  let env = open(message, 'soap12', options.limits);
  const addressing = env.header ? readAddressingFromTree(env.header) : undefined;
  env = removeAddressing(env);
  const isFault = convertFault(env, 'soap11');
  convertNamespace(env, 'soap11');
  return { body: serialize(env.root), soapVersion: 'soap11', contentType: SOAP_VERSIONS.soap11.contentType, isFault, action: addressing };
}

/** The first element inside a SOAP 1.1 fault's detail (before conversion). */
function faultDetailEntry(env: Envelope): XmlElement | undefined {
  const fault = findChild(env.body, env.root.namespaceUri, 'Fault');
  const detail = fault && childElements(fault).find((c) => c.localName === 'detail');
  return detail && childElements(detail)[0];
}

function childText(el: XmlElement): string {
  return el.children.map((c) => (c.kind === 'text' ? c.value : '')).join('').trim();
}

function readAddressingFromTree(header: XmlElement): string | undefined {
  const action = childElements(header).find((c) => c.localName === 'Action' && addressingVersionOfNamespace(c.namespaceUri) !== undefined);
  return action ? childText(action) : undefined;
}
