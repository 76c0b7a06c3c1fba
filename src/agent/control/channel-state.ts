/**
 * The listener channel's states and what it reports about them (events, /$health):
 *
 *   IDLE → CONNECTING → READY → (BACKOFF → CONNECTING)* → CLOSED
 */
import type { TransitionTable } from '../../core/state-machine';
import type { ConnectFailure, FailureKind } from './connect-failure';

export const ChannelState = {
  Idle: 'IDLE',
  Connecting: 'CONNECTING',
  Ready: 'READY',
  Backoff: 'BACKOFF',
  Closed: 'CLOSED',
} as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

/** Allowed transitions; anything else is a bug and throws. */
export const TRANSITIONS: TransitionTable<ChannelState> = {
  IDLE: ['CONNECTING', 'CLOSED'],
  CONNECTING: ['READY', 'BACKOFF', 'CLOSED'],
  READY: ['BACKOFF', 'CLOSED'],
  BACKOFF: ['CONNECTING', 'CLOSED'],
  CLOSED: [],
};

export interface StateDetail {
  reason?: string;
  delayMs?: number;
  /** Which kind of failure led to BACKOFF. */
  kind?: FailureKind;
  /** Reconnect attempts since the channel was last READY (BACKOFF). */
  attempt?: number;
}

/** What /$health reports for one channel. */
export interface ChannelStatus {
  path: string;
  listenerId: string;
  state: ChannelState;
  /** When the channel entered its state, ISO 8601. */
  since: string;
  /** Reconnect attempts since it was last READY. */
  attempt: number;
  /** When the next attempt starts (BACKOFF), ISO 8601. */
  nextAttemptAt?: string;
  /** Calls being answered now. */
  inFlight: number;
  /** The last failure, if any since start. */
  lastError?: ConnectFailure & { at: string };
}
