/**
 * A relaybridge extension to Hybrid Connections (not part of Azure's protocol): SOAP 1.2 calls
 * carried as binary XML between relay and agent, for a net.tcp client whose service is reached
 * over net.tcp too (protocol/hyco/session-carrier.ts does the same for carried sessions).
 *
 * - A relaybridge agent whose path serves SOAP calls from binary envelopes (a `nettcp` target)
 *   sends `x-relaybridge-soap-binary: msbin1` on its control-channel upgrade. Other listeners
 *   (hyco-https, .NET listeners, agents with other targets) send nothing and keep getting SOAP
 *   1.2 text.
 * - To such a listener the relay sends a net.tcp client's call that it relays one request per
 *   envelope (a streamed session; duplex sessions ride a session carrier instead) with
 *   `Content-Type: application/soap+msbin1`: the envelope as [MC-NBFX] with the [MC-NBFS] static
 *   dictionary and no session strings (what a streamed net.tcp connection carries, [MC-NBFSE]
 *   not used), relay credentials removed, `To` left for the agent to set. On the control channel
 *   or over a rendezvous socket, as any request body.
 * - The agent answers a binary call in the same encoding (`application/soap+msbin1`, status 200,
 *   or 500 for a fault); a failure of its own may come as SOAP 1.2 text or JSON, as for any call.
 * No XML text is printed or parsed on the way.
 */
import { offerTokens } from './session-carrier';

/** Control-channel upgrade header: this listener takes SOAP calls as binary XML (value: `msbin1`). */
export const SOAP_BINARY_OFFER_HEADER = 'x-relaybridge-soap-binary';
/** The offer's value: binary XML without session strings. */
export const SOAP_BINARY_ENCODING = 'msbin1';
/** Content type of a binary SOAP 1.2 call or answer (WCF's name for the encoding). */
export const SOAP_BINARY_CONTENT_TYPE = 'application/soap+msbin1';

/** The content type names binary SOAP (parameters ignored). */
export function isBinarySoapContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === SOAP_BINARY_CONTENT_TYPE;
}

/** The listener's control-channel upgrade offered binary SOAP (a comma list may hold other values later). */
export function offersBinarySoap(header: string | readonly string[] | undefined): boolean {
  return offerTokens(header).includes(SOAP_BINARY_ENCODING);
}
