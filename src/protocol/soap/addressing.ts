/**
 * SOAP and WS-Addressing constants: the two SOAP versions (SOAP 1.1 W3C Note §4-§6, SOAP 1.2
 * Part 1 §5 and Part 2 §7), the two WS-Addressing versions WCF speaks (W3C WS-Addressing 1.0
 * "Core"/"SOAP Binding", 2005/08 namespace; and the August 2004 member submission), and the WCF
 * URIs that show up in faults (wcf-wire.md §4.4).
 */

export const SoapVersion = { Soap11: 'soap11', Soap12: 'soap12' } as const;
export type SoapVersion = (typeof SoapVersion)[keyof typeof SoapVersion];

export const SOAP11_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const SOAP12_ENVELOPE_NS = 'http://www.w3.org/2003/05/soap-envelope';

export interface SoapVersionInfo {
  readonly version: SoapVersion;
  readonly envelopeNamespace: string;
  /** Media type of the HTTP binding (SOAP 1.1: text/xml; SOAP 1.2: application/soap+xml, RFC 3902). */
  readonly mediaType: string;
  /** Content-Type that WCF writes for this version. */
  readonly contentType: string;
  /** Fault code local names for Sender/Receiver (SOAP 1.1 calls them Client/Server). */
  readonly senderCode: string;
  readonly receiverCode: string;
  /** The `actor` (1.1) / `role` (1.2) URI meaning "the next node". */
  readonly nextRole: string;
  /** Attribute name that targets a header at a node. */
  readonly roleAttribute: string;
}

export const SOAP_VERSIONS: Readonly<Record<SoapVersion, SoapVersionInfo>> = {
  soap11: {
    version: 'soap11',
    envelopeNamespace: SOAP11_ENVELOPE_NS,
    mediaType: 'text/xml',
    contentType: 'text/xml; charset=utf-8',
    senderCode: 'Client',
    receiverCode: 'Server',
    nextRole: 'http://schemas.xmlsoap.org/soap/actor/next',
    roleAttribute: 'actor',
  },
  soap12: {
    version: 'soap12',
    envelopeNamespace: SOAP12_ENVELOPE_NS,
    mediaType: 'application/soap+xml',
    contentType: 'application/soap+xml; charset=utf-8',
    senderCode: 'Sender',
    receiverCode: 'Receiver',
    nextRole: 'http://www.w3.org/2003/05/soap-envelope/role/next',
    roleAttribute: 'role',
  },
};

/** SOAP version whose envelope namespace is `ns`, or undefined. */
export function soapVersionOfNamespace(ns: string): SoapVersion | undefined {
  if (ns === SOAP11_ENVELOPE_NS) return 'soap11';
  if (ns === SOAP12_ENVELOPE_NS) return 'soap12';
  return undefined;
}

export const AddressingVersion = { Wsa10: 'wsa10', Wsa200408: 'wsa200408' } as const;
export type AddressingVersion = (typeof AddressingVersion)[keyof typeof AddressingVersion];

export const WSA10_NS = 'http://www.w3.org/2005/08/addressing';
export const WSA200408_NS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';

export interface AddressingVersionInfo {
  readonly version: AddressingVersion;
  readonly namespace: string;
  /** Address meaning "reply on the back channel" (the HTTP response / the same session). */
  readonly anonymous: string;
  /** Address meaning "send no reply" (WS-Addressing 1.0 only). */
  readonly none?: string;
  /** Action of addressing-level faults (WS-Addressing 1.0 SOAP Binding §6; wcf-wire.md §4.4). */
  readonly faultAction: string;
}

export const ADDRESSING_VERSIONS: Readonly<Record<AddressingVersion, AddressingVersionInfo>> = {
  wsa10: {
    version: 'wsa10',
    namespace: WSA10_NS,
    anonymous: 'http://www.w3.org/2005/08/addressing/anonymous',
    none: 'http://www.w3.org/2005/08/addressing/none',
    faultAction: 'http://www.w3.org/2005/08/addressing/soap/fault',
  },
  wsa200408: {
    version: 'wsa200408',
    namespace: WSA200408_NS,
    anonymous: 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
    faultAction: 'http://schemas.xmlsoap.org/ws/2004/08/addressing/fault',
  },
};

/** WS-Addressing version whose namespace is `ns`, or undefined. */
export function addressingVersionOfNamespace(ns: string): AddressingVersion | undefined {
  if (ns === WSA10_NS) return 'wsa10';
  if (ns === WSA200408_NS) return 'wsa200408';
  return undefined;
}

/** Header names defined by WS-Addressing (both versions use the same local names). */
export const ADDRESSING_HEADERS = ['Action', 'To', 'MessageID', 'RelatesTo', 'ReplyTo', 'FaultTo', 'From'] as const;
export type AddressingHeaderName = (typeof ADDRESSING_HEADERS)[number];

/** WCF: the Action of an unhandled-exception fault (InternalServiceFault). */
export const WCF_DISPATCHER_FAULT_ACTION = 'http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher/fault';
/** WCF: namespace of dispatcher fault subcodes (InternalServiceFault, DeserializationFailed, ...). */
export const WCF_DISPATCHER_NS = 'http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher';
/** WCF: namespace used for addressing fault codes and the Action header when addressing is None. */
export const WCF_ADDRESSING_NONE_NS = 'http://schemas.microsoft.com/ws/2005/05/addressing/none';
/** Azure Relay (WCF Relay) connect namespace: the RelayAccessToken SOAP header lives here (wcf-wire.md §5.3). */
export const RELAY_CONNECT_NS = 'http://schemas.microsoft.com/netservices/2009/05/servicebus/connect';
/** WS-Security 1.0 secext namespace (BinarySecurityToken inside RelayAccessToken). */
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
