/**
 * RFC 6455 opening handshake (§1.3, §4.1, §4.2): validating a client's upgrade request,
 * computing Sec-WebSocket-Accept, building the server's 101 response, and client keys.
 * Strings in, strings out; the HTTP I/O belongs to relay/ and agent/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ProtocolError } from '../../core/errors';

/** §1.3: the GUID appended to Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.1: Sec-WebSocket-Key is a base64-encoded 16-byte value (24 characters ending "=="). */
const KEY_RE = /^[+/0-9A-Za-z]{22}==$/;
/** RFC 9110 §5.6.2 token (subprotocol names, §4.1, and header names). */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field value without CTLs other than HTAB. */
const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** §4.2.2 step 5.4: base64(SHA-1(key + GUID)). */
export function computeAcceptKey(secWebSocketKey: string): string {
  return createHash('sha1').update(secWebSocketKey + WEBSOCKET_GUID).digest('base64');
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64 (§4.1: "randomly selected"). */
export function generateClientKey(): string {
  return randomBytes(16).toString('base64');
}

type NodeHeaders = Record<string, string | string[] | undefined>;

function badHandshake(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `WebSocket handshake: ${message}`, { httpStatus: 400 });
}

/** One header value: arrays (repeated headers) are joined as RFC 9110 §5.3 allows for lists. */
function headerValue(headers: NodeHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function listTokens(value: string): string[] {
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/**
 * Checks a client's opening handshake (§4.2.1) from Node's lowercased `req.headers`. The
 * caller checks the method (GET) and request target.
 *
 * @returns the Sec-WebSocket-Key and the offered subprotocols in the client's order
 * @throws ProtocolError RELAY_ERR_PROTOCOL_INVALID_MESSAGE with httpStatus 400
 */
export function validateClientHandshake(headers: NodeHeaders): { key: string; protocols: string[] } {
  // §4.2.1 item 3: an Upgrade header containing "websocket", ASCII case-insensitive.
  const upgrade = headerValue(headers, 'upgrade');
  if (upgrade === undefined || !listTokens(upgrade).some((t) => t.toLowerCase() === 'websocket')) {
    throw badHandshake('Upgrade header must be "websocket"');
  }
  // §4.2.1 item 4: a Connection header whose tokens include "Upgrade", case-insensitive.
  const connection = headerValue(headers, 'connection');
  if (connection === undefined || !listTokens(connection).some((t) => t.toLowerCase() === 'upgrade')) {
    throw badHandshake('Connection header must include "Upgrade"');
  }
  // §4.2.1 item 6 / §4.4: only version 13 is spoken.
  const version = headerValue(headers, 'sec-websocket-version');
  if (version === undefined || version.trim() !== '13') {
    throw badHandshake('Sec-WebSocket-Version must be 13');
  }
  // §4.2.1 item 5: Sec-WebSocket-Key is base64 of 16 bytes; exactly one.
  const rawKey = headers['sec-websocket-key'];
  const key = typeof rawKey === 'string' ? rawKey.trim() : undefined;
  if (key === undefined || !KEY_RE.test(key)) {
    throw badHandshake('Sec-WebSocket-Key must be the base64 encoding of 16 bytes');
  }
  // §4.2.1 item 8 / §4.1: optional comma-separated subprotocol tokens, in preference order.
  const protocols: string[] = [];
  const rawProtocols = headerValue(headers, 'sec-websocket-protocol');
  if (rawProtocols !== undefined) {
    for (const p of listTokens(rawProtocols)) {
      if (!TOKEN_RE.test(p)) throw badHandshake(`invalid subprotocol ${JSON.stringify(p.slice(0, 40))}`);
      if (!protocols.includes(p)) protocols.push(p);
    }
  }
  return { key, protocols };
}

export interface ServerHandshakeOptions {
  /** The client's Sec-WebSocket-Key. */
  key: string;
  /** The chosen subprotocol (one the client offered, §4.2.2 step 5.5); omitted when undefined. */
  protocol?: string;
  /** More response headers, written as given after the standard ones. */
  extraHeaders?: Record<string, string>;
}

/**
 * The server's 101 response head (§4.2.2 step 5), ending with the blank line. No
 * Sec-WebSocket-Extensions: no extension is ever negotiated (hybrid-connections.md §10 item 4).
 *
 * @throws ProtocolError RELAY_ERR_PROTOCOL_INVALID_MESSAGE when the protocol or an extra header
 *         is not a valid token / field value (which could otherwise inject header lines)
 */
export function buildServerHandshakeResponse(o: ServerHandshakeOptions): string {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${computeAcceptKey(o.key)}`,
  ];
  if (o.protocol !== undefined) {
    // §4.2.2 step 5.5: the selected subprotocol is a single token.
    if (!TOKEN_RE.test(o.protocol)) throw badHandshake(`invalid subprotocol ${JSON.stringify(o.protocol.slice(0, 40))}`);
    lines.push(`Sec-WebSocket-Protocol: ${o.protocol}`);
  }
  if (o.extraHeaders !== undefined) {
    for (const name of Object.keys(o.extraHeaders)) {
      const value = o.extraHeaders[name]!;
      if (!TOKEN_RE.test(name)) throw badHandshake(`invalid header name ${JSON.stringify(name.slice(0, 40))}`);
      if (typeof value !== 'string' || !FIELD_VALUE_RE.test(value)) {
        throw badHandshake(`invalid value for header ${name}`);
      }
      lines.push(`${name}: ${value}`);
    }
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}
