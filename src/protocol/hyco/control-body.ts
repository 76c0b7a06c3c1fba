/**
 * A relaybridge extension to the control channel (not part of Azure's protocol): bodies larger
 * than the protocol's 64 KiB may travel on the control channel when both ends say so.
 *
 * A relaybridge listener sends `x-relaybridge-control-body: N` on its control-channel upgrade
 * request (N = the largest binary message it accepts); a relaybridge relay that accepts the offer
 * answers with the same header in its 101, carrying the size it will use in both directions.
 * Either end that does not send the header (Azure Relay, hyco-https, .NET listeners) keeps the
 * protocol's 64 KiB threshold and the rendezvous path for anything larger, so the extension is
 * invisible to them.
 *
 * Why: a response just over 64 KiB otherwise costs a new WebSocket connection (and, over the
 * internet, a TLS handshake) per call.
 */
export const CONTROL_BODY_HEADER = 'x-relaybridge-control-body';

/** The smallest and largest sizes an offer may carry, bytes (options that set one use the same bounds). */
export const CONTROL_BODY_OFFER_BYTES = { min: 64 * 1024, max: 64 * 1024 * 1024 } as const;

/**
 * Reads an offer: a decimal size in [64 KiB, 64 MiB]. Anything else (absent, several values,
 * garbage, out of range) is no offer, so a bad header can only fall back to the protocol's rule.
 */
export function parseControlBodyOffer(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  const n = Number(value.trim());
  return n >= CONTROL_BODY_OFFER_BYTES.min && n <= CONTROL_BODY_OFFER_BYTES.max ? n : undefined;
}
