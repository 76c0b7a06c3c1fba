/**
 * Hybrid Connections control-channel messages (hybrid-connections.md §2.1, §2.2; Azure Relay
 * "Hybrid Connections protocol" doc, "Listener interactions").
 *
 * Every control message is one JSON text frame whose single top-level key names the command:
 *   service → listener:  {"accept":{…}}  {"request":{…}}
 *   listener → service:  {"response":{…}} {"renewToken":{…}}  (+ test-only {"injectFault":{…}})
 * Commands are modelled as a discriminated union on `type`; anything unrecognised becomes an
 * UnknownCommand so the caller can ignore it (§2.2: "Ignore it and any other unknown command").
 */

/** The sender's socket address (.NET `RemoteEndpoint`; hyco-* ignore it). */
export interface RemoteEndpoint {
  address: string;
  port: number;
}

/**
 * `accept`: a WebSocket sender waits; the listener dials `address` (§2.1, §3.1).
 * Wire field order: address, id, connectHeaders, remoteEndpoint (NET `AcceptCommand`).
 */
export interface AcceptCommand {
  type: 'accept';
  address: string;
  id: string;
  /** The sender's handshake headers, name → single string (no relay auth headers). */
  connectHeaders: Record<string, string>;
  remoteEndpoint?: RemoteEndpoint;
}

/**
 * `request`: an HTTP request (§2.1). The address-only form (rendezvous required) carries only
 * `address` and `id`: no `method` and no `body` (hyco-https tests `method`, .NET tests `body`).
 */
export interface RequestCommand {
  type: 'request';
  address: string;
  id: string;
  /** Full origin-form target: entity path, suffix and query without `sb-hc-*`. */
  requestTarget?: string;
  method?: string;
  remoteEndpoint?: RemoteEndpoint;
  /** name → single string; repeated headers joined with ", ". */
  requestHeaders?: Record<string, string>;
  /** true: exactly one binary message (possibly fragmented) follows on the same channel. */
  body?: boolean;
}

/** `response` from the listener (§2.2, NET `ResponseCommand`). */
export interface ResponseCommand {
  type: 'response';
  /** Equals the `request.id` being answered. */
  requestId: string;
  /** 100–999; the wire may carry a number or a numeric string (§10 item 5). */
  statusCode: number;
  /** Absent or null on the wire: use the standard reason phrase (live `AllowNullStatusDescription`). */
  statusDescription?: string;
  responseHeaders: Record<string, string>;
  /** true: exactly one binary message follows. */
  body: boolean;
}

/** `renewToken` from the listener; no reply; an invalid token closes the channel with 1008. */
export interface RenewTokenCommand {
  type: 'renewToken';
  token: string;
}

/** Any command this side does not handle (e.g. `injectFault`): to be ignored. */
export interface UnknownCommand {
  type: 'unknown';
  name: string;
}

export type ServiceToListener = AcceptCommand | RequestCommand;
export type ListenerToService = ResponseCommand | RenewTokenCommand | UnknownCommand;
export type ControlMessage = ServiceToListener | ListenerToService;

/** Wire names of the commands (top-level JSON keys). */
export const CommandName = {
  Accept: 'accept',
  Request: 'request',
  Response: 'response',
  RenewToken: 'renewToken',
  InjectFault: 'injectFault',
} as const;
export type CommandName = (typeof CommandName)[keyof typeof CommandName];
