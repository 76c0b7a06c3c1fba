/** RFC 6455 at frame level (decoder, encoder, close payloads, handshake): public surface. */
export { CloseCode, Opcode, isControlOpcode, isKnownOpcode, isValidCloseCode } from './opcodes';
export { MAX_ENCODABLE_PAYLOAD_BYTES, WS_LIMITS } from './limits';
export { FrameDecoder, type FrameDecoderOptions, type FrameEvent, type FrameHeader } from './frame-decoder';
export { encodeFrame, encodeFrameHeader, type EncodeFrameOptions, type FrameHeaderFields } from './frame-encoder';
export { applyMask, generateMask } from './mask';
export { MAX_CLOSE_REASON_BYTES, decodeClosePayload, encodeClosePayload } from './close-payload';
export {
  WEBSOCKET_GUID,
  buildServerHandshakeResponse,
  computeAcceptKey,
  generateClientKey,
  validateClientHandshake,
  type ServerHandshakeOptions,
} from './handshake';
