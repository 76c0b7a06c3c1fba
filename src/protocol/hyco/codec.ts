/**
 * Hybrid Connections control-message codec (hybrid-connections.md §2.1, §2.2, §2.4 item 3,
 * §7, §10 item 5). Text in, validated typed commands out, and back. No I/O.
 *
 * Grammar (one JSON text frame):
 *   message   = "{" command-name ":" command-body "}"      ; exactly one top-level key
 *   accept    = {address, id, connectHeaders, remoteEndpoint?}
 *   request   = {address, id, requestTarget?, method?, remoteEndpoint?, requestHeaders?, body?}
 *   response  = {requestId, statusCode, statusDescription?, responseHeaders, body}
 *   renewToken= {token}
 *
 * Parsing is strict where a wrong value would be acted on (types, required fields, header
 * names and values that end up in HTTP heads) and tolerant where real peers differ: unknown
 * commands and unknown fields are ignored, `statusCode` may be a number or numeric string,
 * `null` means "absent" for optional fields, numeric header values become strings.
 *
 * Prototype pollution: JSON.parse itself creates `__proto__` as an own data property, which
 * is harmless; the danger is copying such keys with `obj[key] = …`. Command fields are read by
 * name (Object.hasOwn), never copied wholesale, and header maps skip `__proto__`,
 * `constructor` and `prototype`, so no result object ever gets those keys.
 */
import { ProtocolError } from '../../core/errors';
import { HYCO_LIMITS, type HycoLimits } from './limits';
import type {
  AcceptCommand,
  ListenerToService,
  RemoteEndpoint,
  RenewTokenCommand,
  RequestCommand,
  ResponseCommand,
  ServiceToListener,
  UnknownCommand,
} from './messages';

type JsonObject = { [key: string]: unknown };

/** Keys that must never be assigned onto a result object. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Longest request/accept id an InvalidCommandError carries (ids are relay-made GUID-like strings). */
const MAX_ID_LENGTH = 256;

/** RFC 9110 §5.6.2 token: 1*tchar. */
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field-value / §15 reason-phrase: no CTLs except HTAB (blocks CR/LF injection). */
const FIELD_VALUE_RE = /^[\t\x20-\x7e\x80-\uffff]*$/;

// ------------------------------------------------------------------------------------------
// Parsing
// ------------------------------------------------------------------------------------------

/**
 * Parses a message a listener sent to the relay (relay side): `response`, `renewToken`, or
 * anything else as `{type:'unknown', name}` (including `accept`/`request`, which listeners
 * never send).
 *
 * @param text   the text frame's payload
 * @param limits overrides of HYCO_LIMITS (bytes / counts)
 * @throws ProtocolError RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE when over maxControlMessageBytes,
 *         RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE for a header map over maxHeaderCount/maxHeaderBytes,
 *         RELAY_ERR_PROTOCOL_INVALID_MESSAGE for anything else malformed
 */
export function parseListenerMessage(text: string, limits?: Partial<HycoLimits>): ListenerToService {
  const l = resolveLimits(limits);
  const { name, body } = parseEnvelope(text, l);
  switch (name) {
    case 'response': {
      const o = expectObject(body, 'response');
      try {
        return parseResponse(o, l);
      } catch (err) {
        const requestId = field(o, 'requestId');
        // Without a string requestId nothing can be failed: the plain error (the channel's framing is in doubt).
        if (!(err instanceof ProtocolError) || typeof requestId !== 'string' || requestId.length === 0 || requestId.length > MAX_ID_LENGTH) throw err;
        throw new InvalidResponseError(o, requestId, err);
      }
    }
    case 'renewToken':
      return parseRenewToken(expectObject(body, 'renewToken'));
    default:
      return unknown(name);
  }
}

/**
 * Parses a message the relay (service) sent to a listener (agent side): `accept`, `request`,
 * or anything else as `{type:'unknown', name}`.
 *
 * @param text   the text frame's payload
 * @param limits overrides of HYCO_LIMITS (bytes / counts)
 * @throws InvalidCommandError when an accept/request with a string id fails validation (answer
 *         that one, keep the channel); ProtocolError as parseListenerMessage otherwise
 */
export function parseServiceMessage(text: string, limits?: Partial<HycoLimits>): ServiceToListener | UnknownCommand {
  const l = resolveLimits(limits);
  const { name, body } = parseEnvelope(text, l);
  switch (name) {
    case 'accept':
      return identified('accept', expectObject(body, 'accept'), (o) => parseAccept(o, l));
    case 'request':
      return identified('request', expectObject(body, 'request'), (o) => parseRequest(o, l));
    default:
      return unknown(name);
  }
}

/**
 * A command that is well-formed JSON and names what it is about (its `id`, and usually its
 * `address`), but failed validation (e.g. too many headers). The listener answers that one
 * request or connection with an error and keeps its channel: one bad caller costs only itself.
 * `code` is the validation failure's (RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE → 431, anything else
 * RELAY_ERR_PROTOCOL_INVALID_MESSAGE → 400).
 */
export class InvalidCommandError extends ProtocolError {
  readonly command: 'accept' | 'request';
  /** `request.id` / `accept.id`: the request a response must name. */
  readonly id: string;
  /** The rendezvous address, when it is a string. */
  readonly address: string | undefined;
  /** `request.body` when it is a boolean: true means one binary message follows (to be skipped). */
  readonly body: boolean | undefined;
  /** true for the address-only `request` form (no method: the request travels over rendezvous). */
  readonly addressOnly: boolean;

  constructor(command: 'accept' | 'request', o: JsonObject, cause: ProtocolError) {
    super(cause.code, cause.message, { cause });
    this.command = command;
    this.id = field(o, 'id') as string;
    const address = field(o, 'address');
    this.address = typeof address === 'string' && address.length > 0 ? address : undefined;
    const body = field(o, 'body');
    this.body = typeof body === 'boolean' ? body : undefined;
    this.addressOnly = command === 'request' && field(o, 'method') === undefined;
  }
}

/**
 * A `response` that is well-formed JSON and names its request (`requestId`), but failed
 * validation (a status out of range, a header value that is not a string, control characters in
 * the reason). The relay fails that one request (502) and keeps the listener's channel: one bad
 * answer costs only its caller, as the agent treats one bad request.
 */
export class InvalidResponseError extends ProtocolError {
  readonly requestId: string;
  /** `response.body` when it is a boolean: true means one binary message follows (to be skipped). */
  readonly body: boolean | undefined;

  constructor(o: JsonObject, requestId: string, cause: ProtocolError) {
    super(cause.code, cause.message, { cause });
    this.requestId = requestId;
    const body = field(o, 'body');
    this.body = typeof body === 'boolean' ? body : undefined;
  }
}

/** Runs a command parser; a validation failure of a command with a usable id becomes an InvalidCommandError. */
function identified<T>(command: 'accept' | 'request', o: JsonObject, parse: (o: JsonObject) => T): T {
  try {
    return parse(o);
  } catch (err) {
    const id = field(o, 'id');
    // Without a string id nothing can be answered: the plain error (the frame is dropped).
    if (!(err instanceof ProtocolError) || typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw err;
    throw new InvalidCommandError(command, o, err);
  }
}

function resolveLimits(limits: Partial<HycoLimits> | undefined): HycoLimits {
  return limits === undefined ? HYCO_LIMITS : { ...HYCO_LIMITS, ...limits };
}

function unknown(name: string): UnknownCommand {
  return { type: 'unknown', name };
}

function invalid(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `hyco: ${message}`, cause === undefined ? {} : { cause });
}

/** A header map over maxHeaderCount / maxHeaderBytes (HTTP's 431 Request Header Fields Too Large). */
function headersTooLarge(message: string): ProtocolError {
  return new ProtocolError('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE', `hyco: ${message}`);
}

/** Renders a bad value for an error message without echoing large peer input. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}…"` : `string "${v}"`;
  return `${typeof v} ${String(v)}`;
}

function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Size check, JSON.parse, and the single-top-level-key rule. */
function parseEnvelope(text: string, limits: HycoLimits): { name: string; body: unknown } {
  if (typeof text !== 'string') throw invalid(`control message must be text, got ${describe(text)}`);
  // Limit before parsing (STYLE habit 4): a UTF-16 unit is at least one UTF-8 byte, so the
  // cheap length test is exact for rejection; byteLength confirms near the limit.
  if (text.length > limits.maxControlMessageBytes || Buffer.byteLength(text, 'utf8') > limits.maxControlMessageBytes) {
    throw new ProtocolError(
      'RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE',
      `hyco: control message exceeds ${limits.maxControlMessageBytes} bytes`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`control message is not valid JSON (${(err as Error).message})`, err);
  }
  if (!isJsonObject(parsed)) throw invalid(`control message must be a JSON object, got ${describe(parsed)}`);
  // §2: each message names exactly one command as its only top-level key.
  const keys = Object.keys(parsed);
  if (keys.length !== 1) {
    throw invalid(`control message must have exactly one top-level key, got ${keys.length}`);
  }
  const name = keys[0]!;
  return { name, body: parsed[name] };
}

function expectObject(v: unknown, where: string): JsonObject {
  if (!isJsonObject(v)) throw invalid(`${where} must be an object, got ${describe(v)}`);
  return v;
}

/** Own property or undefined; `null` counts as absent for optional fields. */
function field(o: JsonObject, key: string): unknown {
  if (!Object.hasOwn(o, key)) return undefined;
  const v = o[key];
  return v === null ? undefined : v;
}

function requiredString(o: JsonObject, key: string, where: string): string {
  const v = field(o, key);
  if (v === undefined) throw invalid(`${where}.${key} is required`);
  if (typeof v !== 'string') throw invalid(`${where}.${key} must be a string, got ${describe(v)}`);
  // An empty id/address/token can never be acted on.
  if (v.length === 0) throw invalid(`${where}.${key} must not be empty`);
  return v;
}

function optionalString(o: JsonObject, key: string, where: string): string | undefined {
  const v = field(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`${where}.${key} must be a string, got ${describe(v)}`);
  return v;
}

function optionalBoolean(o: JsonObject, key: string, where: string): boolean | undefined {
  const v = field(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${where}.${key} must be a boolean, got ${describe(v)}`);
  return v;
}

function optionalRemoteEndpoint(o: JsonObject, where: string): RemoteEndpoint | undefined {
  const v = field(o, 'remoteEndpoint');
  if (v === undefined) return undefined;
  const ep = expectObject(v, `${where}.remoteEndpoint`);
  const address = requiredString(ep, 'address', `${where}.remoteEndpoint`);
  const port = field(ep, 'port');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid(`${where}.remoteEndpoint.port must be an integer 0–65535, got ${describe(port)}`);
  }
  return { address, port };
}

/**
 * Copies a header map (name → single string) into a fresh plain object, validating as it
 * goes: names are RFC 9110 tokens, values strings (finite numbers are coerced) with no CTLs
 * but HTAB, count and total size within limits. Prototype-sensitive names are skipped.
 */
function headerMap(v: unknown, where: string, limits: HycoLimits): Record<string, string> {
  const src = expectObject(v, where);
  const out: Record<string, string> = {};
  let count = 0;
  let bytes = 0;
  for (const name of Object.keys(src)) {
    // Never assign these onto a result object (prototype pollution, see file header).
    if (FORBIDDEN_KEYS.has(name)) continue;
    if (++count > limits.maxHeaderCount) {
      throw headersTooLarge(`${where} has more than ${limits.maxHeaderCount} headers`);
    }
    // RFC 9110 §5.1: a field name is a token; anything else would corrupt the HTTP head.
    if (!TOKEN_RE.test(name)) throw invalid(`${where} has an invalid header name ${describe(name)}`);
    const raw = src[name];
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (typeof raw === 'number' && Number.isFinite(raw)) value = String(raw);
    else throw invalid(`${where}["${name}"] must be a string, got ${describe(raw)}`);
    // RFC 9110 §5.5: CR/LF/NUL in a value would allow header injection downstream.
    if (!FIELD_VALUE_RE.test(value)) throw invalid(`${where}["${name}"] contains control characters`);
    // §2.3: header metadata is limited (32 kB on the control channel).
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
    if (bytes > limits.maxHeaderBytes) throw headersTooLarge(`${where} exceeds ${limits.maxHeaderBytes} bytes`);
    out[name] = value;
  }
  return out;
}

function parseAccept(o: JsonObject, limits: HycoLimits): AcceptCommand {
  const address = requiredString(o, 'address', 'accept');
  const id = requiredString(o, 'id', 'accept');
  const rawHeaders = field(o, 'connectHeaders');
  // §7.4: listeners need the sender's Sec-WebSocket-Key from connectHeaders; it is required.
  if (rawHeaders === undefined) throw invalid('accept.connectHeaders is required');
  const connectHeaders = headerMap(rawHeaders, 'accept.connectHeaders', limits);
  const remoteEndpoint = optionalRemoteEndpoint(o, 'accept');
  const cmd: AcceptCommand = { type: 'accept', address, id, connectHeaders };
  if (remoteEndpoint !== undefined) cmd.remoteEndpoint = remoteEndpoint;
  return cmd;
}

function parseRequest(o: JsonObject, limits: HycoLimits): RequestCommand {
  const cmd: RequestCommand = {
    type: 'request',
    address: requiredString(o, 'address', 'request'),
    id: requiredString(o, 'id', 'request'),
  };
  const requestTarget = optionalString(o, 'requestTarget', 'request');
  if (requestTarget !== undefined) cmd.requestTarget = requestTarget;
  const method = optionalString(o, 'method', 'request');
  if (method !== undefined) {
    // RFC 9110 §9.1: a method is a token (it goes into a request line).
    if (!TOKEN_RE.test(method)) throw invalid(`request.method must be an HTTP token, got ${describe(method)}`);
    cmd.method = method;
  }
  const remoteEndpoint = optionalRemoteEndpoint(o, 'request');
  if (remoteEndpoint !== undefined) cmd.remoteEndpoint = remoteEndpoint;
  const rawHeaders = field(o, 'requestHeaders');
  if (rawHeaders !== undefined) cmd.requestHeaders = headerMap(rawHeaders, 'request.requestHeaders', limits);
  const body = optionalBoolean(o, 'body', 'request');
  if (body !== undefined) cmd.body = body;
  return cmd;
}

/** §2.2 + §10 item 5: number or numeric string; any 100–999 status passes through. */
function parseStatusCode(v: unknown): number {
  if (v === undefined) throw invalid('response.statusCode is required');
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\d{1,4}$/.test(v)) n = Number(v);
  else throw invalid(`response.statusCode must be a number, got ${describe(v)}`);
  if (!Number.isInteger(n) || n < 100 || n > 999) {
    throw invalid(`response.statusCode must be an integer 100–999, got ${describe(v)}`);
  }
  return n;
}

function parseResponse(o: JsonObject, limits: HycoLimits): ResponseCommand {
  const requestId = requiredString(o, 'requestId', 'response');
  const statusCode = parseStatusCode(field(o, 'statusCode'));
  const statusDescription = optionalString(o, 'statusDescription', 'response');
  // RFC 9112 §4: the reason phrase goes into the status line; CR/LF would split the response.
  if (statusDescription !== undefined && !FIELD_VALUE_RE.test(statusDescription)) {
    throw invalid('response.statusDescription contains control characters');
  }
  const rawHeaders = field(o, 'responseHeaders');
  // Tolerance: a missing/null header map is an empty one (nothing to act on wrongly).
  const responseHeaders = rawHeaders === undefined ? {} : headerMap(rawHeaders, 'response.responseHeaders', limits);
  // §2.2: `body` is required; it decides whether the next binary message belongs to this response.
  const body = optionalBoolean(o, 'body', 'response');
  if (body === undefined) throw invalid('response.body is required');
  const cmd: ResponseCommand = { type: 'response', requestId, statusCode, responseHeaders, body };
  if (statusDescription !== undefined) cmd.statusDescription = statusDescription;
  return cmd;
}

function parseRenewToken(o: JsonObject): RenewTokenCommand {
  return { type: 'renewToken', token: requiredString(o, 'token', 'renewToken') };
}

// ------------------------------------------------------------------------------------------
// Serialisation: exact shapes and field orders of §2.1/§2.2 (object literal order is the
// JSON order). Optional fields that are undefined are omitted.
// ------------------------------------------------------------------------------------------

/** Plain copy of a header map without prototype-sensitive keys. */
function copyHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(h)) if (!FORBIDDEN_KEYS.has(name)) out[name] = h[name]!;
  return out;
}

function copyEndpoint(ep: RemoteEndpoint): RemoteEndpoint {
  return { address: ep.address, port: ep.port };
}

/** `{"accept":{address,id,connectHeaders[,remoteEndpoint]}}` (§2.1, NET field order). */
export function serializeAccept(c: Omit<AcceptCommand, 'type'>): string {
  const accept: Record<string, unknown> = { address: c.address, id: c.id, connectHeaders: copyHeaders(c.connectHeaders) };
  if (c.remoteEndpoint !== undefined) accept.remoteEndpoint = copyEndpoint(c.remoteEndpoint);
  return JSON.stringify({ accept });
}

/**
 * `{"request":{address,id,requestTarget,method,remoteEndpoint,requestHeaders,body}}` (§2.1,
 * live-capture order).
 *
 * When `method` is undefined this is the address-only form `{"request":{address,id}}`: only
 * address and id are written, because hyco-https detects the form by a missing `method` and
 * .NET by a missing `body`, so both must be absent (§2.1). When `method` is set, `body`
 * defaults to false so .NET never mistakes the full form for the address-only one.
 */
export function serializeRequest(c: Omit<RequestCommand, 'type'>): string {
  const request: Record<string, unknown> = { address: c.address, id: c.id };
  if (c.method !== undefined) {
    if (c.requestTarget !== undefined) request.requestTarget = c.requestTarget;
    request.method = c.method;
    if (c.remoteEndpoint !== undefined) request.remoteEndpoint = copyEndpoint(c.remoteEndpoint);
    if (c.requestHeaders !== undefined) request.requestHeaders = copyHeaders(c.requestHeaders);
    request.body = c.body ?? false;
  }
  return JSON.stringify({ request });
}

/** `{"response":{requestId,statusCode,statusDescription?,responseHeaders,body}}` (§2.2); statusCode as a number. */
export function serializeResponse(c: Omit<ResponseCommand, 'type'>): string {
  const response: Record<string, unknown> = { requestId: c.requestId, statusCode: c.statusCode };
  if (c.statusDescription !== undefined) response.statusDescription = c.statusDescription;
  response.responseHeaders = copyHeaders(c.responseHeaders);
  response.body = c.body;
  return JSON.stringify({ response });
}

/** `{"renewToken":{"token":…}}` (§2.2). */
export function serializeRenewToken(token: string): string {
  return JSON.stringify({ renewToken: { token } });
}
