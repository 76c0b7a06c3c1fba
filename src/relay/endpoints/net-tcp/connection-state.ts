/**
 * The states of a relay-side net.tcp connection and of a carried session's carrier, with their
 * transition tables (nmf-connection.ts). Anything the tables do not allow is a bug and throws.
 *
 *   PREAMBLE ──PreambleEnd──> ROUTING ──Via routed, caller allowed, Ack──> OPEN
 *      ^                                                                │
 *      ├──────────── client End (our End answers) ──────────────────────┤
 *      ├── our End after the reply <── ENDING <── client End before a streamed reply
 *      └── client End (acknowledges ours) <── SERVER_ENDED <── the service ended the session
 *   any state ──fault record or shutdown End──> CLOSING ──socket gone──> CLOSED
 *   any state ──socket gone──> CLOSED
 */
import type { TransitionTable } from '../../../core/state-machine';

export const ConnectionState = {
  /** Reading a preamble (Version, Mode, Via, Encoding, an ssl-tls Upgrade): a new session. */
  Preamble: 'PREAMBLE',
  /** Preamble End read: the Via is being looked up and authorized; frames that follow are held. */
  Routing: 'ROUTING',
  /** Preamble acknowledged: envelopes flow both ways. */
  Open: 'OPEN',
  /** Streamed: the client sent End before the reply; our End follows the reply. */
  Ending: 'ENDING',
  /** The service ended the session: the relay sent End and waits for the client's. */
  ServerEnded: 'SERVER_ENDED',
  /** A fault record (or End at shutdown) was sent and the socket is closing: nothing more is read. */
  Closing: 'CLOSING',
  Closed: 'CLOSED',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export const CONNECTION_TRANSITIONS: TransitionTable<ConnectionState> = {
  PREAMBLE: ['ROUTING', 'CLOSING', 'CLOSED'],
  ROUTING: ['OPEN', 'CLOSING', 'CLOSED'],
  OPEN: ['PREAMBLE', 'ENDING', 'SERVER_ENDED', 'CLOSING', 'CLOSED'],
  ENDING: ['PREAMBLE', 'CLOSING', 'CLOSED'],
  SERVER_ENDED: ['PREAMBLE', 'CLOSING', 'CLOSED'],
  CLOSING: ['CLOSED'],
  CLOSED: [],
};

/**
 * A carried session's carrier to the agent (protocol/hyco/session-carrier.ts):
 *   OPENING (client messages queue) ──accepted──> OPEN ──ended or failed──> OVER
 *   OPENING ──refused, cancelled──> OVER
 */
export const CarrierState = {
  Opening: 'OPENING',
  Open: 'OPEN',
  Over: 'OVER',
} as const;
export type CarrierState = (typeof CarrierState)[keyof typeof CarrierState];

export const CARRIER_TRANSITIONS: TransitionTable<CarrierState> = {
  OPENING: ['OPEN', 'OVER'],
  OPEN: ['OVER'],
  OVER: [],
};
