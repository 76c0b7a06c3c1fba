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
 */

/** Control-channel upgrade header: the session kinds this listener can carry. */
export const SESSION_OFFER_HEADER = 'x-relaybridge-sessions';
/** accept connectHeaders: this accept is a session carrier of that kind. */
export const SESSION_KIND_HEADER = 'x-relaybridge-session';
/** accept connectHeaders: the request target (`/{entity path}[/suffix]`) of the session. */
export const SESSION_TARGET_HEADER = 'x-relaybridge-session-target';
/** The only kind so far. */
export const NET_TCP_SESSION = 'net.tcp';

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
