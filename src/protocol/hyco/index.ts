/** Hybrid Connections control channel codec (hybrid-connections.md §2): public surface. */
export type {
  AcceptCommand,
  ControlMessage,
  ListenerToService,
  RemoteEndpoint,
  RenewTokenCommand,
  RequestCommand,
  ResponseCommand,
  ServiceToListener,
  UnknownCommand,
} from './messages';
export { CommandName } from './messages';
export { HYCO_LIMITS, type HycoLimits } from './limits';
export {
  InvalidCommandError,
  InvalidResponseError,
  parseListenerMessage,
  parseServiceMessage,
  serializeAccept,
  serializeRenewToken,
  serializeRequest,
  serializeResponse,
} from './codec';
export { reasonPhrase } from './status';
export { CONTROL_BODY_HEADER, CONTROL_BODY_OFFER_BYTES, parseControlBodyOffer } from './control-body';
export { ONE_WAY_ACK_HEADER } from './one-way';
export { isBinarySoapContentType, offersBinarySoap, SOAP_BINARY_CONTENT_TYPE, SOAP_BINARY_ENCODING, SOAP_BINARY_OFFER_HEADER } from './binary-soap';
export {
  BINARY_CARRIER,
  NET_TCP_SESSION,
  SESSION_ENCODING_HEADER,
  SESSION_ENCODINGS_HEADER,
  SESSION_KIND_HEADER,
  SESSION_OFFER_HEADER,
  offerTokens,
  SESSION_TARGET_HEADER,
  SESSION_TO_HEADER,
  SessionCloseCode,
} from './session-carrier';
