/**
 * Fuzz targets: one per decoder that meets untrusted bytes. Each target is `(bytes) => void`; it
 * feeds the decoder the way the socket code does and checks what comes out. It returns normally
 * when the decoder produced values or refused the input with one of the project's protocol
 * errors (`isExpectedError`); anything else escaping (TypeError, RangeError, a wrong error code,
 * a broken invariant) is thrown as a finding.
 *
 * Besides "no crash", targets check properties a caller relies on: streaming decoders give the
 * same result whole and split at arbitrary points; byte ranges stay inside the message; parsed
 * control messages re-serialize to themselves; nothing gets a polluted prototype; decoded output
 * never outgrows the input by more than the limits allow (no unbounded allocation).
 */
import { AuthError, ERROR_CODES, ProtocolError, RelayError, type ErrorCode } from '../../src/core/errors';
import { ClientDecoder, Mode, ServerDecoder, type ClientFrame, type ServerFrame } from '../../src/protocol/nmf';
import { MAX_NBFX_DECODED_CHARS, NbfxStreamReader, SessionReader, readNbfx } from '../../src/protocol/nbfx';
import { decodeEnvelope, binaryToXml } from '../../src/protocol/soap-binary';
import { InvalidCommandError } from '../../src/protocol/hyco/codec';
import { parseListenerMessage, parseServiceMessage, serializeResponse, serializeRequest, serializeAccept } from '../../src/protocol/hyco';
import { FrameDecoder, Opcode, decodeClosePayload, type FrameEvent } from '../../src/protocol/websocket';
import { scanEnvelope, type ElementRange } from '../../src/protocol/soap/envelope';
import { inspectEnvelope, rewriteAddressingTo, stripRelayAccessToken } from '../../src/protocol/soap/soap-message';
import { classifySoapContentType, parseSoapActionHeader } from '../../src/protocol/soap/content-type';
import { parseXml } from '../../src/protocol/xml/text-reader';
import { parseXmlTree } from '../../src/protocol/xml/tree';
import { writeXml } from '../../src/protocol/xml/text-writer';
import { audienceMatches, parseSasToken, verifySasSignature } from '../../src/auth/sas-token';
import type { XmlToken } from '../../src/protocol/xml/tokens';

export interface FuzzTarget {
  readonly name: string;
  /** What the target feeds, for the runner's listing. */
  readonly description: string;
  /** Largest input the engine builds for this target, bytes. */
  readonly maxInputBytes: number;
  /** Byte strings the mutator inserts (protocol keywords, record types, magic numbers). */
  readonly dictionary: readonly Buffer[];
  readonly run: (bytes: Buffer) => void;
}

/** A broken property: always a finding. */
export class FuzzFinding extends Error {
  override name = 'FuzzFinding';
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzFinding(message);
}

/**
 * Only the project's own refusals may come out of a decoder: a ProtocolError (or AuthError for
 * SAS) whose code is one of `codes`. A bare RelayError or another subclass is a finding too.
 */
function expectOnly(codes: readonly ErrorCode[], fn: () => void, classes: ReadonlyArray<new (...a: never[]) => RelayError> = [ProtocolError]): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof FuzzFinding) throw err;
    if (err instanceof RelayError && classes.some((c) => err instanceof c) && codes.includes(err.code)) return;
    throw err;
  }
}

/** Every registered protocol code (RELAY_ERR_PROTOCOL_*): new ones are accepted as they are added. */
const PROTOCOL_CODES: readonly ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => c.startsWith('RELAY_ERR_PROTOCOL_'));

/** Deterministic split points derived from the input itself (same input, same splits). */
function splitPoints(bytes: Buffer, parts: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i += 1 + (bytes.length >> 6)) h = Math.imul(h ^ bytes[i]!, 16777619);
  const points: number[] = [];
  for (let i = 0; i < parts - 1 && bytes.length > 1; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
    points.push(h % bytes.length);
  }
  return [...new Set(points)].sort((a, b) => a - b);
}

function chunks(bytes: Buffer, points: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(bytes.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.subarray(at));
  return out;
}

function bytesOf(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

// ------------------------------------------------------------------------------------------
// NMF + NBFX: what the relay's net.tcp endpoint and the agent's net.tcp client run
// ------------------------------------------------------------------------------------------

/** Summary of a decoded NMF stream that must not depend on how the bytes were chunked. */
interface NmfOutcome {
  readonly frames: string[];
  readonly error: string | undefined;
}

/** Joins envelopeData pieces (their split points follow the chunks) into one entry per message. */
function summarizeServer(frames: ServerFrame[], out: string[], pending: { data: Buffer[] }): void {
  for (const f of frames) {
    if (f.type === 'envelopeData') {
      pending.data.push(f.data);
      continue;
    }
    if (pending.data.length) {
      out.push(`data:${Buffer.concat(pending.data).toString('hex')}`);
      pending.data = [];
    }
    if (f.type === 'envelope') out.push(`envelope:${f.payload.toString('hex')}`);
    else if (f.type === 'preamble') out.push(`preamble:${f.mode}:${f.via}:${f.encoding.contentType}`);
    else if (f.type === 'upgradeRequest') out.push(`upgrade:${f.protocol}`);
    else out.push(f.type);
  }
}

/**
 * Feeds the initiator's stream to a ServerDecoder as the net.tcp endpoint does: after an
 * upgrade request the buffered bytes are taken and pushed back as if TLS had decrypted them;
 * every sized envelope of a msbinsession1 session goes through the session's NBFX decoder.
 */
function runServer(input: Buffer[], decodeBodies: boolean): NmfOutcome {
  const decoder = new ServerDecoder();
  const out: string[] = [];
  const pending = { data: [] as Buffer[] };
  let session: SessionReader | undefined;
  let error: string | undefined;
  const handle = (frames: ServerFrame[]): void => {
    summarizeServer(frames, out, pending);
    for (const f of frames) {
      if (f.type === 'preamble') session = f.encoding.contentType === 'application/soap+msbinsession1' ? new SessionReader() : undefined;
      if (f.type === 'envelope' && decodeBodies) {
        expectOnly(PROTOCOL_CODES, () => {
          const xml = binaryToXml(f.payload, session ? { session } : {});
          // Text output is bounded: decoded characters by maxDecodedChars (escaping at most 6x), markup per record.
          check(xml.length <= 6 * MAX_NBFX_DECODED_CHARS + 64 * f.payload.length, `binaryToXml produced ${xml.length} chars from ${f.payload.length} bytes`);
        });
      }
    }
  };
  try {
    const queue = [...input];
    while (queue.length) {
      handle(decoder.push(queue.shift()!));
      if (decoder.state === 'AwaitingUpgrade') {
        const early = decoder.takeBufferedBytes();
        decoder.upgradeComplete();
        queue.unshift(...early);
      }
    }
    out.push(`finish:${decoder.finish()}`);
  } catch (err) {
    if (!(err instanceof ProtocolError) || !PROTOCOL_CODES.includes(err.code)) throw err;
    // Every decoder error says which fault record to answer with ([MC-NMF] §2.2.3.9).
    check(typeof err.nmfFault === 'string', `NMF error without nmfFault: ${err.message}`);
    error = err.code;
  }
  if (pending.data.length) out.push(`data:${Buffer.concat(pending.data).toString('hex')}`);
  return { frames: out, error };
}

function sameOutcome(a: NmfOutcome, b: NmfOutcome, what: string): void {
  // Split input may end before the error point is reached in the same way only if frames agree up to it.
  check(a.error === b.error, `${what}: whole input ends with ${a.error ?? 'no error'}, split input with ${b.error ?? 'no error'}`);
  if (a.error === undefined) check(a.frames.join('|') === b.frames.join('|'), `${what}: whole and split input decode differently`);
}

const NMF_DICTIONARY: readonly Buffer[] = [
  hex('000100'), hex('0101'), hex('0102'), hex('0103'), hex('0104'), hex('0208'), hex('0308'), hex('0303'), hex('0300'),
  hex('0c'), hex('0b'), hex('07'), hex('06'), hex('05'), hex('0a'), hex('08'), hex('09'), hex('00'), hex('80808080'), hex('ffffffff07'),
  hex('ff7f'), hex('8080808008'), bytesOf('net.tcp://localhost/'), bytesOf('application/ssl-tls'), bytesOf('application/negotiate'),
  bytesOf('application/soap+msbinsession1'), hex('04') /* extensible encoding */,
];

const nmfServer: FuzzTarget = {
  name: 'nmf-server',
  description: 'ServerDecoder (relay net.tcp endpoint): preamble, upgrade, sized/unsized envelopes, pooling; msbinsession1 bodies through NBFX',
  maxInputBytes: 16 * 1024,
  dictionary: NMF_DICTIONARY,
  run(bytes) {
    const whole = runServer([bytes], true);
    sameOutcome(whole, runServer(chunks(bytes, splitPoints(bytes, 4)), false), 'ServerDecoder');
  },
};

function runClient(input: Buffer[], mode: Mode): NmfOutcome {
  const decoder = new ClientDecoder({ mode });
  const out: string[] = [];
  let data: Buffer[] = [];
  const flush = (): void => {
    if (data.length) out.push(`data:${Buffer.concat(data).toString('hex')}`);
    data = [];
  };
  let error: string | undefined;
  try {
    const queue = [...input];
    while (queue.length) {
      const frames: ClientFrame[] = decoder.push(queue.shift()!);
      for (const f of frames) {
        if (f.type === 'envelopeData') {
          data.push(f.data);
          continue;
        }
        flush();
        if (f.type === 'envelope') out.push(`envelope:${f.payload.toString('hex')}`);
        else if (f.type === 'fault') out.push(`fault:${f.fault}`);
        else out.push(f.type);
      }
      if (decoder.state === 'AwaitingUpgrade') {
        const early = decoder.takeBufferedBytes();
        decoder.upgradeComplete();
        queue.unshift(...early);
      }
    }
  } catch (err) {
    if (!(err instanceof ProtocolError) || !PROTOCOL_CODES.includes(err.code)) throw err;
    check(typeof err.nmfFault === 'string', `NMF error without nmfFault: ${err.message}`);
    error = err.code;
  }
  flush();
  return { frames: out, error };
}

const nmfClient: FuzzTarget = {
  name: 'nmf-client',
  description: 'ClientDecoder (agent net.tcp client), duplex and singleton-unsized: acks, upgrade responses, faults, envelopes',
  maxInputBytes: 16 * 1024,
  dictionary: NMF_DICTIONARY,
  run(bytes) {
    for (const mode of [Mode.Duplex, Mode.SingletonUnsized]) {
      const whole = runClient([bytes], mode);
      sameOutcome(whole, runClient(chunks(bytes, splitPoints(bytes, 3)), mode), `ClientDecoder mode ${mode}`);
    }
  },
};

/**
 * Splits a session input into envelope payloads: each is `MB31(length) payload` as in an NMF
 * Sized Envelope record without its type octet; a bad or short prefix makes the rest one payload.
 */
export function splitSessionMessages(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length && out.length < 64) {
    let len = 0;
    let shift = 0;
    let i = at;
    for (; i < bytes.length && i < at + 3; i++) {
      len |= (bytes[i]! & 0x7f) << shift;
      shift += 7;
      if ((bytes[i]! & 0x80) === 0) break;
    }
    const start = i + 1;
    if (i >= bytes.length || (bytes[i]! & 0x80) !== 0 || len === 0 || start + len > bytes.length) {
      out.push(bytes.subarray(at));
      return out;
    }
    out.push(bytes.subarray(start, start + len));
    at = start + len;
  }
  return out;
}

/** Framing of the corpus for nbfx-session (the inverse of splitSessionMessages). */
export function joinSessionMessages(payloads: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of payloads) {
    const len: number[] = [];
    let v = p.length;
    while (v >= 0x80) {
      len.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    len.push(v);
    parts.push(Buffer.from(len), p);
  }
  return Buffer.concat(parts);
}

/**
 * The infoset a text round trip keeps: adjacent text tokens as one, empty texts dropped. The
 * reader splits character data where something it skips sits inside it (a processing
 * instruction: `x<?pi?>y` is `x`, `y`) and the writer writes them as one run, which reads back as
 * one token: the same characters, not a difference.
 */
function mergeText(tokens: readonly XmlToken[]): XmlToken[] {
  const out: XmlToken[] = [];
  for (const t of tokens) {
    if (t.kind !== 'text') {
      out.push(t);
      continue;
    }
    if (t.value === '') continue;
    const last = out[out.length - 1];
    if (last?.kind === 'text') out[out.length - 1] = { kind: 'text', value: last.value + t.value };
    else out.push({ kind: 'text', value: t.value });
  }
  return out;
}

function tokenKey(tokens: readonly XmlToken[]): string {
  return tokens.map((t) => `${t.kind}:${'prefix' in t ? t.prefix : ''}:${'localName' in t ? t.localName : ''}:${'value' in t ? t.value : ''}`).join('\n');
}

/** The session's envelopes one after another, then the same NBFX bodies through the streaming reader. */
const nbfxSession: FuzzTarget = {
  name: 'nbfx-session',
  description: 'NBFSE string tables + NBFX records (decodeEnvelope with a SessionReader across a session), streaming reader agrees',
  maxInputBytes: 16 * 1024,
  dictionary: [
    hex('40'), hex('41'), hex('42'), hex('43'), hex('44'), hex('56'), hex('04'), hex('05'), hex('06'), hex('07'), hex('08'), hex('09'), hex('0b'),
    hex('01'), hex('02'), hex('03'), hex('80'), hex('81'), hex('82'), hex('83'), hex('84'), hex('85'), hex('86'), hex('88'), hex('89'), hex('8a'),
    hex('8b'), hex('8c'), hex('8d'), hex('8e'), hex('90'), hex('92'), hex('94'), hex('96'), hex('98'), hex('99'), hex('9a'), hex('9e'), hex('a0'),
    hex('a2'), hex('a4'), hex('a6'), hex('a8'), hex('aa'), hex('ab'), hex('ac'), hex('ae'), hex('b0'), hex('b2'), hex('b4'), hex('b6'), hex('b8'),
    hex('ba'), hex('bc'), hex('ffffffff07'), hex('8080808008'), hex('ff7f'), hex('7f'), hex('0a020104'),
  ],
  run(bytes) {
    const payloads = splitSessionMessages(bytes);
    const session = new SessionReader();
    for (const payload of payloads) {
      let tokens: XmlToken[] | undefined;
      expectOnly(PROTOCOL_CODES, () => {
        tokens = decodeEnvelope(payload, { session });
      });
      // The session quota bounds the strings kept for the whole connection.
      check(session.bytesUsed <= 2048, `session holds ${session.bytesUsed} table bytes`);
      if (!tokens) continue;
      check(tokens.length <= 1024 * 1024, `${tokens.length} tokens`);
      // The same document through the streaming reader, in chunks: same tokens.
      let offset = 0;
      {
        // Re-read the table size to find where NBFX starts (the session already holds the strings).
        let v = 0;
        let shift = 0;
        for (;;) {
          const b = payload[offset++]!;
          v |= (b & 0x7f) << shift;
          shift += 7;
          if ((b & 0x80) === 0) break;
        }
        offset += v;
      }
      const body = payload.subarray(offset);
      const stream = new NbfxStreamReader({ session });
      const streamed: XmlToken[] = [];
      try {
        for (const c of chunks(body, splitPoints(body, 4))) streamed.push(...stream.push(Buffer.from(c)));
        stream.end();
      } catch (err) {
        throw new FuzzFinding(`streaming reader failed where readNbfx succeeded: ${(err as Error).message}`);
      }
      check(tokenKey(streamed) === tokenKey(tokens), 'streaming and whole NBFX decoding disagree');
    }
    // msbin1: the whole input as one document without a session.
    expectOnly(PROTOCOL_CODES, () => {
      readNbfx(bytes);
    });
  },
};

// ------------------------------------------------------------------------------------------
// Hybrid Connections control messages
// ------------------------------------------------------------------------------------------

function noPollution(o: unknown, where: string): void {
  if (typeof o !== 'object' || o === null) return;
  check(Object.getPrototypeOf(o) === Object.prototype || Array.isArray(o), `${where} has a foreign prototype`);
  for (const key of ['__proto__', 'constructor', 'prototype']) check(!Object.hasOwn(o, key), `${where} has own key ${key}`);
  for (const v of Object.values(o)) noPollution(v, where);
}

const HYCO_DICTIONARY: readonly Buffer[] = [
  '{"request":{', '{"accept":{', '{"response":{', '{"renewToken":{', '"address":"wss://h/$hc/p?sb-hc-action=request&sb-hc-id=1"', '"id":"1"',
  '"requestId":"1"', '"statusCode":200', '"statusCode":"200"', '"statusDescription":"OK"', '"responseHeaders":{', '"requestHeaders":{',
  '"connectHeaders":{', '"remoteEndpoint":{"address":"::1","port":1}', '"body":true', '"body":false', '"method":"POST"', '"requestTarget":"/p"',
  '"token":"SharedAccessSignature sr=a&sig=b&se=1&skn=c"', '"__proto__":{"x":1}', '"constructor":{"prototype":{}}', 'null', '1e400', '-0', '\\u0000', '\\r\\n',
  '"Sec-WebSocket-Key":"dGhlIHNhbXBsZSBub25jZQ=="', '}', ']', ',', '"',
].map((s) => Buffer.from(s, 'utf8'));

const hycoListener: FuzzTarget = {
  name: 'hyco-listener',
  description: 'parseListenerMessage (relay side: response, renewToken from a listener); response re-serializes to itself',
  maxInputBytes: 8 * 1024,
  dictionary: HYCO_DICTIONARY,
  run(bytes) {
    const text = bytes.toString('utf8');
    expectOnly(PROTOCOL_CODES, () => {
      const msg = parseListenerMessage(text);
      noPollution(msg, 'listener message');
      if (msg.type === 'response') {
        const { type: _t, ...rest } = msg;
        const again = parseListenerMessage(serializeResponse(rest));
        check(JSON.stringify(again) === JSON.stringify(msg), 'response does not survive serialize + parse');
      }
    });
  },
};

const hycoService: FuzzTarget = {
  name: 'hyco-service',
  description: 'parseServiceMessage (agent side: accept, request from the relay); accept and request re-serialize to themselves',
  maxInputBytes: 8 * 1024,
  dictionary: HYCO_DICTIONARY,
  run(bytes) {
    const text = bytes.toString('utf8');
    expectOnly(PROTOCOL_CODES, () => {
      let msg: ReturnType<typeof parseServiceMessage>;
      try {
        msg = parseServiceMessage(text);
      } catch (err) {
        // A refusal the listener answers per request must name that request.
        if (err instanceof InvalidCommandError) check(typeof err.id === 'string' && err.id.length > 0 && err.id.length <= 256, 'InvalidCommandError without a usable id');
        throw err;
      }
      noPollution(msg, 'service message');
      if (msg.type === 'accept') {
        const { type: _t, ...rest } = msg;
        check(JSON.stringify(parseServiceMessage(serializeAccept(rest))) === JSON.stringify(msg), 'accept does not survive serialize + parse');
      } else if (msg.type === 'request' && msg.method !== undefined) {
        const { type: _t, ...rest } = msg;
        const again = parseServiceMessage(serializeRequest(rest));
        check(JSON.stringify(again) === JSON.stringify({ ...msg, body: msg.body ?? false }), 'request does not survive serialize + parse');
      }
    });
  },
};

// ------------------------------------------------------------------------------------------
// WebSocket frames
// ------------------------------------------------------------------------------------------

interface WsOutcome {
  readonly frames: string[];
  readonly error: string | undefined;
}

function runWs(input: Buffer[], role: 'server' | 'client'): WsOutcome {
  // A small frame limit so the oversize path is reachable with small inputs.
  const decoder = new FrameDecoder({ role, maxFramePayloadBytes: 4096 });
  const frames: string[] = [];
  let payload: Buffer[] = [];
  let error: string | undefined;
  try {
    for (const chunk of input) {
      const events: FrameEvent[] = decoder.push(chunk);
      for (const e of events) {
        if (e.type === 'payload') payload.push(e.data);
        else if (e.type === 'frameEnd') {
          const body = Buffer.concat(payload);
          payload = [];
          check(body.length === e.header.payloadLength, `frame payload ${body.length} bytes, header says ${e.header.payloadLength}`);
          frames.push(`${e.header.opcode}:${e.header.fin}:${body.toString('hex')}`);
          if (e.header.opcode === Opcode.Close) {
            expectOnly(['RELAY_ERR_PROTOCOL_WS_FRAME'], () => {
              decodeClosePayload(body);
            });
          }
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ProtocolError) || !PROTOCOL_CODES.includes(err.code)) throw err;
    check(typeof err.wsCloseCode === 'number', `WebSocket error without a close code: ${err.message}`);
    error = err.code;
  }
  return { frames, error };
}

const websocketFrames: FuzzTarget = {
  name: 'websocket-frames',
  description: 'FrameDecoder, server role (masked client frames) and client role; split input decodes the same; close payloads',
  maxInputBytes: 16 * 1024,
  dictionary: [hex('81'), hex('82'), hex('01'), hex('80'), hex('88'), hex('89'), hex('8a'), hex('00'), hex('fe'), hex('ff'), hex('7e'), hex('7f'),
    hex('fe0100'), hex('ff0000000000000100'), hex('ff8000000000000000'), hex('00000000'), hex('03e8'), hex('03ea'), hex('0bb8')],
  run(bytes) {
    for (const role of ['server', 'client'] as const) {
      const whole = runWs([bytes], role);
      const split = runWs(chunks(bytes, splitPoints(bytes, 5)), role);
      check(whole.error === split.error, `FrameDecoder ${role}: whole input ends with ${whole.error}, split with ${split.error}`);
      if (!whole.error) check(whole.frames.join('|') === split.frames.join('|'), `FrameDecoder ${role}: whole and split decode differently`);
    }
  },
};

// ------------------------------------------------------------------------------------------
// SOAP envelope head scanner, text XML reader, content types
// ------------------------------------------------------------------------------------------

function inRange(r: ElementRange | undefined, length: number, what: string): void {
  if (!r) return;
  check(0 <= r.start && r.start <= r.contentStart && r.contentStart <= r.contentEnd && r.contentEnd <= r.end && r.end <= length,
    `${what} range ${r.start}/${r.contentStart}/${r.contentEnd}/${r.end} is not ordered inside ${length} bytes`);
}

const SOAP_CONTENT_TYPES = [undefined, 'text/xml; charset=utf-8', 'application/soap+xml; charset=utf-8; action="urn:a"'] as const;

const soapEnvelope: FuzzTarget = {
  name: 'soap-envelope',
  description: 'inspectEnvelope / scanEnvelope (SOAP head scanner), stripRelayAccessToken, rewriteAddressingTo: ranges stay inside the message',
  maxInputBytes: 32 * 1024,
  dictionary: [
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">', '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">',
    '<s:Header>', '</s:Header>', '<s:Body>', '</s:Body>', '</s:Envelope>', '<a:Action s:mustUnderstand="1">', '</a:Action>',
    'xmlns:a="http://www.w3.org/2005/08/addressing"', 'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"', '<a:To>', '</a:To>',
    '<a:MessageID>urn:uuid:1</a:MessageID>', '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>',
    '<RelayAccessToken xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">',
    '<wsse:BinarySecurityToken EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">',
    '<?xml version="1.0" encoding="utf-8"?>', '<!--', '-->', '<?pi ?>', '<![CDATA[', ']]>', '&amp;', '&#x10FFFF;', '&#0;', '<!DOCTYPE x>', ' ', '\r\n', '\ufeff',
    '<s:Fault>', '</', '/>', '="', '"',
  ].map((s) => Buffer.from(s, 'utf8')),
  run(bytes) {
    for (const ct of SOAP_CONTENT_TYPES) {
      expectOnly(PROTOCOL_CODES, () => {
        const info = inspectEnvelope(bytes, ct, '"urn:a"');
        inRange(info.header, bytes.length, 'Header');
        inRange(info.body, bytes.length, 'Body');
        for (const h of info.headers) inRange(h, bytes.length, `header ${h.localName}`);
      });
    }
    expectOnly(PROTOCOL_CODES, () => {
      const s = stripRelayAccessToken(bytes);
      check(s.body.length <= bytes.length, 'stripping a header made the message longer');
      if (s.token !== undefined) scanEnvelope(s.body);
    });
    expectOnly(PROTOCOL_CODES, () => {
      const r = rewriteAddressingTo(bytes, 'http://127.0.0.1:1/svc');
      check(r.body.length <= bytes.length + 64, 'rewriting To grew the message by more than the new value');
    });
  },
};

const xmlText: FuzzTarget = {
  name: 'xml-text',
  description: 'text XML reader (parseXml, parseXmlTree); what it accepts is written back and read again to the same tokens',
  maxInputBytes: 32 * 1024,
  dictionary: soapEnvelope.dictionary,
  run(bytes) {
    let tokens: XmlToken[] | undefined;
    expectOnly(PROTOCOL_CODES, () => {
      tokens = parseXml(bytes);
    });
    expectOnly(PROTOCOL_CODES, () => {
      parseXmlTree(bytes);
    });
    if (!tokens) return;
    const text = writeXml(tokens);
    let again: XmlToken[];
    try {
      again = parseXml(text);
    } catch (err) {
      throw new FuzzFinding(`writeXml output of an accepted document is refused: ${(err as Error).message}`);
    }
    check(tokenKey(mergeText(again)) === tokenKey(mergeText(tokens)), 'parse(write(parse(x))) differs from parse(x)');
  },
};

const soapContentType: FuzzTarget = {
  name: 'soap-content-type',
  description: 'classifySoapContentType and parseSoapActionHeader on arbitrary header values',
  maxInputBytes: 1024,
  dictionary: ['text/xml', 'application/soap+xml', 'multipart/related', 'type="application/xop+xml"', 'start-info=', 'action=', 'charset=', ';', '"', '\\', ' '].map(
    (s) => Buffer.from(s, 'latin1'),
  ),
  run(bytes) {
    const value = bytes.toString('latin1');
    expectOnly(PROTOCOL_CODES, () => {
      classifySoapContentType(value);
    });
    expectOnly(PROTOCOL_CODES, () => {
      parseSoapActionHeader(value);
    });
  },
};

// ------------------------------------------------------------------------------------------
// SAS tokens
// ------------------------------------------------------------------------------------------

const sasToken: FuzzTarget = {
  name: 'sas-token',
  description: 'parseSasToken, then verifySasSignature and audienceMatches on what parses',
  maxInputBytes: 8 * 1024,
  dictionary: ['SharedAccessSignature ', 'sr=', '&sig=', '&se=', '&skn=', 'http%3A%2F%2Fh%2Fp', '%', '%zz', '%E0%A4%A', '&&', '=', '9999999999999999', '0', '[::1]:9', '@', '/$hc/', '?', '#'].map(
    (s) => Buffer.from(s, 'utf8'),
  ),
  run(bytes) {
    for (const text of [bytes.toString('utf8'), bytes.toString('latin1')]) {
      expectOnly(['RELAY_ERR_SAS_MALFORMED'], () => {
        const t = parseSasToken(text);
        verifySasSignature(t, ['key', '']);
        audienceMatches(t, { hosts: ['h', 'relay.example:443', '[::1]'], path: '/p/q' });
        audienceMatches(t, { hosts: '*', path: '' });
      }, [AuthError]);
    }
  },
};

export const TARGETS: readonly FuzzTarget[] = [nmfServer, nmfClient, nbfxSession, hycoListener, hycoService, websocketFrames, soapEnvelope, xmlText, soapContentType, sasToken];

export function targetByName(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target ${name} (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
