/**
 * [MC-NMF] fault strings ([MC-NMF] §2.2.5; CoreWCF FramingEncodingString; wcf-wire.md §1.8).
 *
 * A receiver sends a Fault record (0x08) with one of these URIs before the Preamble Ack (or to
 * kill a session) and then closes the connection. The WCF client maps each to an exception
 * (dotnet/wcf FaultStringDecoder.GetFaultException).
 */

export const FAULT_NAMESPACE = 'http://schemas.microsoft.com/ws/2006/05/framing/faults/';

export const FaultString = {
  /** The Via names no endpoint (client: EndpointNotFoundException). */
  EndpointNotFound: `${FAULT_NAMESPACE}EndpointNotFound`,
  /** The endpoint exists but is not accepting (client: EndpointNotFoundException). */
  EndpointUnavailable: `${FAULT_NAMESPACE}EndpointUnavailable`,
  EndpointPaused: `${FAULT_NAMESPACE}EndpointPaused`,
  EndpointAccessDenied: `${FAULT_NAMESPACE}EndpointAccessDenied`,
  /** The encoding is not the endpoint's encoder (client: ProtocolException). */
  ContentTypeInvalid: `${FAULT_NAMESPACE}ContentTypeInvalid`,
  /** Extensible Encoding longer than allowed (client: QuotaExceeded). */
  ContentTypeTooLong: `${FAULT_NAMESPACE}ContentTypeTooLong`,
  /** Via longer than allowed (client: QuotaExceeded). */
  ViaTooLong: `${FAULT_NAMESPACE}ViaTooLong`,
  UnsupportedMode: `${FAULT_NAMESPACE}UnsupportedMode`,
  UnsupportedVersion: `${FAULT_NAMESPACE}UnsupportedVersion`,
  /** Unknown or refused upgrade (for example application/negotiate). */
  UpgradeInvalid: `${FAULT_NAMESPACE}UpgradeInvalid`,
  /** Note the trailing "Fault": that is the real string (client: QuotaExceeded). */
  MaxMessageSizeExceededFault: `${FAULT_NAMESPACE}MaxMessageSizeExceededFault`,
  ServerTooBusy: `${FAULT_NAMESPACE}ServerTooBusy`,
  ServiceActivationFailed: `${FAULT_NAMESPACE}ServiceActivationFailed`,
  ConnectionDispatchFailed: `${FAULT_NAMESPACE}ConnectionDispatchFailed`,
  /** A record arrived that the grammar does not allow here ([MC-NMF] §3.1.1.2). */
  InvalidRecordSequence: `${FAULT_NAMESPACE}InvalidRecordSequence`,
} as const;
export type FaultString = (typeof FaultString)[keyof typeof FaultString];

const KNOWN = new Set<string>(Object.values(FaultString));

/** True when `value` is one of the fault strings above. */
export function isKnownFaultString(value: string): value is FaultString {
  return KNOWN.has(value);
}
