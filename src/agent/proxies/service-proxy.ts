/**
 * What a listener channel calls for each relayed HTTP request, whatever is behind it: a local
 * HTTP service (`http`), a `soap`-package module run inside the agent (`module`), or Node
 * processes registered over IPC (`ipc`).
 */
import type { LocalRequest, LocalResponse } from './http-proxy';

export interface ServiceProxy {
  call(request: LocalRequest): Promise<LocalResponse>;
  close(): void | Promise<void>;
  /** Takes SOAP calls as binary XML (protocol/hyco/binary-soap.ts): the agent offers it on the control channel. */
  readonly takesBinarySoap?: boolean;
}

/**
 * One relayed client session held open at the service (protocol/hyco/session-carrier.ts): what
 * the client sends goes in with send(); everything the service sends comes out of onMessage.
 */
export interface ServiceSession {
  /**
   * How messages are carried: `text` = SOAP 1.2 XML; `binary` = msbinsession1 payloads passed
   * through as they are (protocol/hyco/session-carrier.ts).
   */
  readonly encoding: 'text' | 'binary';
  /** The service's address (what `To` must say). */
  readonly address: string;
  /** A client message for the service, in the session's encoding. */
  send(message: Buffer): void;
  /** Every message the service sends on this session (replies, callbacks, faults), in the session's encoding. */
  onMessage: ((message: Buffer) => void) | undefined;
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
  /**
   * Opens a service session, binary when `binary` is offered and the target carries binary;
   * rejects with RELAY_ERR_TOO_BUSY past the target's session cap.
   */
  openSession(options: { binary: boolean }): Promise<ServiceSession>;
}
