/**
 * A relaybridge extension to Hybrid Connections (not part of Azure's protocol): one WebSocket per
 * client session ("session carrier") between relay and agent, for net.tcp sessions.
 *
 * A WCF net.tcp session is stateful at the service (PerSession instancing) and two-way (the
 * service may send callbacks at any time). Relayed as independent requests, two clients would
 * share service sessions and callbacks would have no way back. So:
 *
 * - A relaybridge agent whose target can hold sessions sends `x-relaybridge-sessions: net.tcp`
 *   on its control-channel upgrade. Listeners that do not (hyco-https, .NET listeners, agents
 *   with other targets) keep getting one `request` per envelope, as before.
 * - For each client session the relay sends the listener an ordinary `accept` whose
 *   connectHeaders carry `x-relaybridge-session: net.tcp` and `x-relaybridge-session-target`
 *   (the request target: `/{entity path}[/suffix]`); the listener dials the accept address as for
 *   any WebSocket sender. The agent opens a service session of its own for it: one client
 *   session, one service session, never shared.
 * - Each text message on the carrier, either way, is one SOAP 1.2 envelope (UTF-8 XML): client
 *   requests and replies to callbacks towards the agent; replies, callbacks and faults towards
 *   the relay. Nothing is correlated in between: the WCF client and service correlate by
 *   RelatesTo themselves, as on a direct connection.
 * - Closing the carrier ends the session at the other end: 1000 for an orderly end (the client's
 *   or the service's End), anything else for a failure (the other side faults its session).
 *
 * Binary carriers (both ends relaybridge; the text form above stays for everything else): the
 * relay's accept offers `x-relaybridge-session-encodings: binary`; an agent that takes it dials
 * the accept address with `x-relaybridge-session-encoding: binary` and the service's address in
 * `x-relaybridge-session-to`. Then each binary message on the carrier is one msbinsession1
 * envelope payload ([MC-NBFSE]: StringTable, then NBFX), as net.tcp frames it:
 * - towards the agent, the client's payloads in order, `To` already the service's address and
 *   relay credentials removed; the agent writes each to the service as is. While every StringTable
 *   the client sent went on (the usual case) a payload is the client's own, its StringTable and
 *   its bytes unchanged but for those two header blocks, so the service's dictionary is the
 *   client's, as on a direct connection. After a client message that added strings went nowhere
 *   (refused at the relay), or when a table holds a RelayAccessToken's text, payloads are
 *   self-contained instead: an empty StringTable and no session strings;
 * - towards the relay, the service's own payloads as they are, in order (their StringTables build
 *   the client's dictionary exactly as on a direct connection); the relay passes them to the
 *   client as is, and whatever it writes to the client itself uses no session strings.
 * No XML text is printed or parsed on the way: the relay decodes each client message once
 * (authorization, where To and the token sit) and reads the head of each service message (RelatesTo).
 */

/** Control-channel upgrade header: the session kinds this listener can carry. */
export const SESSION_OFFER_HEADER = 'x-relaybridge-sessions';
/** accept connectHeaders: this accept is a session carrier of that kind. */
export const SESSION_KIND_HEADER = 'x-relaybridge-session';
/** accept connectHeaders: the request target (`/{entity path}[/suffix]`) of the session. */
export const SESSION_TARGET_HEADER = 'x-relaybridge-session-target';
/** The only kind so far. */
export const NET_TCP_SESSION = 'net.tcp';
/** accept connectHeaders: carrier encodings the relay can take besides text (`binary`). */
export const SESSION_ENCODINGS_HEADER = 'x-relaybridge-session-encodings';
/** The agent's carrier upgrade request: the encoding it chose (`binary`); absent = text. */
export const SESSION_ENCODING_HEADER = 'x-relaybridge-session-encoding';
/** The agent's carrier upgrade request, binary: the service's address (the relay writes it as `To`). */
export const SESSION_TO_HEADER = 'x-relaybridge-session-to';
export const BINARY_CARRIER = 'binary';

/** Carrier close codes (RFC 6455 §7.4: 4000–4999 are for applications). */
export const SessionCloseCode = {
  /** An orderly end (End from the client or the service). */
  Ended: 1000,
  /** The relay or agent is going away. */
  GoingAway: 1001,
  /** The service could not be reached or refused the session. */
  ServiceUnavailable: 4502,
  /** The agent holds as many sessions as it may (maxSessions). */
  TooBusy: 4503,
  /** The service or client sent something that cannot be relayed; the session is over. */
  Failed: 4500,
} as const;
export type SessionCloseCode = (typeof SessionCloseCode)[keyof typeof SessionCloseCode];

/**
 * The values of a control-channel upgrade offer header (x-relaybridge-sessions,
 * x-relaybridge-soap-binary): a comma list, possibly over repeated headers, lower-cased, blanks dropped.
 */
export function offerTokens(header: string | readonly string[] | undefined): string[] {
  const value = typeof header === 'string' ? header : (header ?? []).join(',');
  return value
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v.length > 0);
}
