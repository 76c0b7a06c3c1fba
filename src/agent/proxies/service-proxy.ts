/**
 * What a listener channel calls for each relayed HTTP request, whatever is behind it: a local
 * HTTP service (`http`), a `soap`-package module run inside the agent (`module`), or Node
 * processes registered over IPC (`ipc`).
 */
import type { LocalRequest, LocalResponse } from './http-proxy';

export interface ServiceProxy {
  call(request: LocalRequest): Promise<LocalResponse>;
  close(): void | Promise<void>;
}

/**
 * One relayed client session held open at the service (protocol/hyco/session-carrier.ts): what
 * the client sends goes in with send(); everything the service sends comes out of onMessage.
 */
export interface ServiceSession {
  /** A client message (SOAP 1.2 XML) for the service. */
  send(xml: Buffer): void;
  /** Every message the service sends on this session (replies, callbacks, faults). */
  onMessage: ((xml: Buffer) => void) | undefined;
  /**
   * Called once when the session is over from the service's side: `orderly` when the service
   * ended it (End), else with the reason (the service closed, faulted or became unreachable).
   */
  onClosed: ((orderly: boolean, reason: string | undefined) => void) | undefined;
  /** The client ended its session: End to the service (bounded wait). */
  end(): Promise<void>;
  /** The client went away: drop the service session at once. */
  abort(): void;
}

/** A target that holds one service session per relayed client session (the `nettcp` target). */
export interface SessionTarget {
  /** Opens a service session; rejects with RELAY_ERR_TOO_BUSY past the target's session cap. */
  openSession(): Promise<ServiceSession>;
}
