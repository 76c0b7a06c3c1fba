/**
 * Frame limits (RFC 6455 §5.2, §5.5, §10.4 "implementations SHOULD impose a limit on frame
 * sizes"). The payload limit is checked when the length field is read, before any payload
 * byte is buffered.
 */
export const WS_LIMITS = {
  /** Largest frame payload accepted, bytes. Oversize fails with close code 1009. */
  maxFramePayloadBytes: 16 * 1024 * 1024,
  /** Largest control-frame payload, bytes; RFC 6455 §5.5 fixes the ceiling at 125. */
  maxControlPayloadBytes: 125,
} as const;

/** Largest length a frame header can encode that a JS number still holds exactly (2^53 - 1). */
export const MAX_ENCODABLE_PAYLOAD_BYTES = Number.MAX_SAFE_INTEGER;
