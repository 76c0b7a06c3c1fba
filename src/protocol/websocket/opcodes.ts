/**
 * RFC 6455 wire constants: opcodes (§5.2, §11.8) and close status codes (§7.4.1, §11.7, IANA
 * "WebSocket Close Code Number Registry").
 */

/** Frame opcodes (RFC 6455 §5.2). 3–7 and 11–15 are reserved. */
export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close status codes (RFC 6455 §7.4.1; 1012–1014 from the IANA registry). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: "no status code was present"; never sent on the wire. */
  NoStatusReceived: 1005,
  /** Reserved: "closed abnormally" (no close frame); never sent on the wire. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Control frames have the most significant opcode bit set (RFC 6455 §5.5). */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x08) !== 0;
}

/** Opcodes defined by RFC 6455 §5.2; every other value is reserved and fails the connection. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

/**
 * Close codes a peer may put on the wire (RFC 6455 §7.4.1/§7.4.2): 1000–1003, 1007–1011, the
 * IANA-registered 1012–1014 (accepted as `ws` and browsers do), and 3000–4999 (libraries and
 * applications). 1004–1006 and 1015 are reserved and never sent; 0–999 and 5000+ are invalid.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
  );
}
