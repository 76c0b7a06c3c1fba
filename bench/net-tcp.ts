/**
 * net.tcp through the relay versus basicHttp (SOAP 1.1) and SOAP 1.2 + WS-Addressing through the
 * relay versus direct calls, in one run, plus codec throughput (NBFX decode/encode against
 * fast-xml-parser and our text XML reader on the same envelopes). Each party (service, relay,
 * agent) runs in its own process; this process generates the load: HTTP with bench/load.ts,
 * net.tcp with a lean client built from the codecs in src/protocol (LeanNetTcpClient below).
 *
 *   npm run bench:nettcp [-- --quick]
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { createSasToken } from '../src/auth/sas-token';
import { parseGuid, SessionReader, SessionWriter, readNbfx, UNIQUE_ID_PREFIX } from '../src/protocol/nbfx';
import { binaryToXml, decodeEnvelope, encodeEnvelope, SOAP_STRING_POLICY, TokenSoapMessage, xmlToBinary } from '../src/protocol/soap-binary';
import { ClientDecoder, encodeEnd, encodePreamble, encodeSizedEnvelope, encodeUnsizedEnvelope, KnownEncoding, Mode } from '../src/protocol/nmf';
import { scanEnvelope } from '../src/protocol/soap/envelope';
import { rewriteAddressingTo } from '../src/protocol/soap/soap-message';
import { carriedRequestPayload, decodeRequest, encodeReply, replyHead, requestXml } from '../src/relay/endpoints/net-tcp/soap-messages';
import { parseXml } from '../src/protocol/xml/text-reader';
import { requestEnvelope } from '../test/helpers/net-tcp-client';
import { BODY_UUID, closedLoop, median, runLeanHttpLoad, type LoadFigure, type LoadResult } from './load';
import { BENCH_KEY, BENCH_KEY_NAME } from './roles';
import { startRole } from './spawn';

const NS = 'http://example.org/calc';
const ECHO_ACTION = `${NS}/ICalculator/Echo`;

/** Echo over SOAP 1.1 or 1.2 (the caller's version), with plain string handling so every path pays the same service cost. */
export const soapEchoHandler: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const start = body.indexOf('<text>');
    const end = body.indexOf('</text>');
    const text = start >= 0 && end > start ? body.slice(start + 6, end) : '';
    const result = `<EchoResponse xmlns="${NS}"><EchoResult>${text}</EchoResult></EchoResponse>`;
    if (String(req.headers['content-type']).startsWith('application/soap+xml')) {
      const id = /<a:MessageID>([^<]*)<\/a:MessageID>/.exec(body)?.[1] ?? '';
      res.setHeader('Content-Type', 'application/soap+xml; charset=utf-8');
      res.end(
        `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${ECHO_ACTION}Response</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header><s:Body>${result}</s:Body></s:Envelope>`,
      );
    } else {
      res.setHeader('Content-Type', 'text/xml; charset=utf-8');
      res.end(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${result}</s:Body></s:Envelope>`);
    }
  });
};

function soap11Echo(size: number): Buffer {
  const head = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="${NS}"><text>`;
  const tail = '</text></Echo></s:Body></s:Envelope>';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

/** An Echo body whose whole SOAP 1.2 request envelope is `size` bytes of XML text (as the SOAP 1.1 one). */
function echoBody(size: number): string {
  const body = (n: number) => `<Echo xmlns="${NS}"><text>${'x'.repeat(n)}</text></Echo>`;
  const overhead = Buffer.byteLength(
    requestEnvelope({ action: ECHO_ACTION, to: 'net.tcp://127.0.0.1:65535/bench12', body: body(0), messageId: `urn:uuid:${randomUUID()}` }),
  );
  return body(Math.max(0, size - overhead - 100)); // margin: the relay re-serialises the XML
}

interface NetTcpLoadOptions {
  port: number;
  via: string;
  body: string;
  connections: number;
  durationMs: number;
  warmupMs?: number;
  /** TransferMode.Streamed clients: a preamble per call on a pooled connection (singleton-unsized, msbin1). */
  streamed?: boolean;
  /** Called when the measured part begins, after the warm-up. */
  onStart?: () => void;
}

/**
 * Closed-loop net.tcp load, next call when the reply arrived: one duplex session per connection,
 * or (streamed) a preamble per call on each connection, as WCF's streamed transfer mode pools them.
 *
 * A load generator must not take the CPU it measures, so each connection encodes its request once
 * (after the first call has defined its session strings) and per call only writes a fresh
 * MessageID into a copy of those bytes; a reply is checked by the MessageID it relates to (its
 * bytes in the payload), and the first reply of each connection is decoded whole and checked.
 */
async function runNetTcpLoad(o: NetTcpLoadOptions): Promise<LoadResult> {
  return closedLoop(await Promise.all(Array.from({ length: o.connections }, () => LeanNetTcpClient.connect(o))), o);
}

/** `urn:uuid:…` as binary XML writes it (UniqueIdText: the GUID's 16 bytes, [MC-NBFX] §2.3.23 order). */
function uniqueIdBytes(id: string): Buffer {
  return parseGuid(id.slice(UNIQUE_ID_PREFIX.length))!;
}

/** One connection of runNetTcpLoad: its request encoded once, a fresh MessageID written per call. */
class LeanNetTcpClient {
  readonly #socket: net.Socket;
  readonly #o: NetTcpLoadOptions;
  readonly #decoder: ClientDecoder;
  readonly #writer = new SessionWriter();
  readonly #reader = new SessionReader();
  /** The request's payload once its session strings are defined, and where its MessageID sits. */
  #template: Buffer | undefined;
  #idAt = -1;
  #first = true;
  #chunks: Buffer[] = [];
  #waiting: { id: string; bytes: Buffer; resolve: (ok: boolean) => void } | undefined;

  private constructor(socket: net.Socket, o: NetTcpLoadOptions) {
    this.#socket = socket;
    this.#o = o;
    this.#decoder = new ClientDecoder({ mode: o.streamed ? Mode.SingletonUnsized : Mode.Duplex });
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#settle(false));
  }

  static async connect(o: NetTcpLoadOptions): Promise<LeanNetTcpClient> {
    const socket = net.connect(o.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new LeanNetTcpClient(socket, o);
    socket.on('data', (chunk: Buffer) => c.#onData(chunk));
    if (!o.streamed) await c.#preamble();
    return c;
  }

  #acked: (() => void) | undefined;
  #preamble(): Promise<void> {
    const acked = new Promise<void>((resolve) => (this.#acked = resolve));
    const streamed = this.#o.streamed === true;
    this.#socket.write(
      encodePreamble({ mode: streamed ? Mode.SingletonUnsized : Mode.Duplex, via: this.#o.via, encoding: streamed ? KnownEncoding.Soap12Binary : KnownEncoding.Soap12BinarySession }),
    );
    return acked;
  }

  /** One call: resolves true when its reply came, relating to its MessageID. */
  async call(): Promise<boolean> {
    const id = `urn:uuid:${randomUUID()}`;
    const payload = this.#payload(id);
    if (this.#o.streamed) await this.#preamble();
    const replied = new Promise<boolean>((resolve) => (this.#waiting = { id, bytes: uniqueIdBytes(id), resolve }));
    this.#socket.write(Buffer.concat(this.#o.streamed ? [...encodeUnsizedEnvelope([payload]), encodeEnd()] : encodeSizedEnvelope(payload)));
    return replied;
  }

  /** The request's payload with `id` as its MessageID: encoded the first time, patched afterwards. */
  #payload(id: string): Buffer {
    const session = this.#o.streamed ? undefined : this.#writer;
    const encode = () => Buffer.concat(xmlToBinary(requestEnvelope({ action: ECHO_ACTION, to: this.#o.via, body: this.#o.body, messageId: id }), { session }));
    if (this.#first) return encode();
    if (!this.#template) {
      // The second message: its session strings were defined by the first, so these bytes recur.
      this.#template = encode();
      this.#idAt = this.#template.indexOf(uniqueIdBytes(id));
      return Buffer.from(this.#template);
    }
    if (this.#idAt < 0) return encode(); // the MessageID is not written as a UniqueId: encode each time
    const out = Buffer.from(this.#template);
    uniqueIdBytes(id).copy(out, this.#idAt);
    return out;
  }

  #onData(chunk: Buffer): void {
    let frames;
    try {
      frames = this.#decoder.push(chunk);
    } catch {
      this.#socket.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type === 'preambleAck') this.#acked?.();
      else if (f.type === 'envelope') this.#reply(f.payload);
      else if (f.type === 'envelopeStart') this.#chunks = [];
      else if (f.type === 'envelopeData') this.#chunks.push(f.data);
      else if (f.type === 'envelopeEnd') this.#reply(Buffer.concat(this.#chunks));
      // Streamed: the call is over with the server's End (the next preamble may follow).
      else if (f.type === 'end') this.#settle(this.#streamedOk ?? false);
      else if (f.type === 'fault') this.#settle(false);
    }
  }

  /** Streamed: the reply's verdict, given when the server's End arrives. */
  #streamedOk: boolean | undefined;

  #reply(payload: Buffer): void {
    const w = this.#waiting;
    if (!w) return;
    let ok: boolean;
    if (this.#first) {
      // Decoded whole once: it is the Echo's answer (and the session's strings are read).
      this.#first = false;
      const tokens = decodeEnvelope(payload, { session: this.#o.streamed ? undefined : this.#reader });
      ok = TokenSoapMessage.read(tokens).addressing?.relatesTo === w.id && tokens.some((t) => t.kind === 'startElement' && t.localName === 'EchoResult');
    } else ok = payload.includes(w.bytes);
    if (this.#o.streamed) this.#streamedOk = ok;
    else this.#settle(ok);
  }

  #settle(ok: boolean): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    this.#streamedOk = undefined;
    w?.resolve(ok);
  }

  close(): void {
    this.#socket.destroy();
  }
}

export async function benchNetTcp(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const service = await startRole(['soap-echo']);
  const relay = await startRole(['nettcp-relay']);
  const agent = await startRole(['nettcp-agent', String(relay.info.url), String(service.info.url)]);
  const serviceUrl = String(service.info.url);
  const url = String(relay.info.url);
  const netTcp = String(relay.info.netTcp);
  const port = Number(new URL(netTcp.replace(/^net\.tcp:/, 'http:')).port);
  const token = createSasToken({ resourceUri: `${url}/bench11`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const lines = [
    '| body | conns | direct calls/s | basicHttp relayed calls/s | net.tcp relayed calls/s | net.tcp / basicHttp | net.tcp / direct | p50 µs direct / basicHttp / net.tcp | p99 µs direct / basicHttp / net.tcp | SOAP 1.2 + WS-Addressing direct / relayed calls/s | SOAP 1.2 relayed / direct |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  try {
    for (const size of [1024, 64 * 1024]) {
      const body = soap11Echo(size);
      const headers = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ECHO_ACTION}"`, 'Content-Length': String(body.length) };
      for (const connections of [1, 32]) {
        const direct: LoadResult[] = [];
        const basic: LoadResult[] = [];
        const tcp: LoadResult[] = [];
        const direct12: LoadResult[] = [];
        const relayed12: LoadResult[] = [];
        // SOAP 1.2 with WS-Addressing (as a wsHttp client sends), each call its own MessageID.
        const soap12 = (target: string) => ({
          url: target,
          method: 'POST',
          body: Buffer.from(requestEnvelope({ action: ECHO_ACTION, to: target, body: echoBody(size), messageId: `urn:uuid:${BODY_UUID}` })),
          uniqueInBody: BODY_UUID,
          headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${ECHO_ACTION}"` },
        });
        for (let r = 0; r < rounds; r++) {
          direct.push(await runLeanHttpLoad({ url: serviceUrl, method: 'POST', body, headers, connections, durationMs }));
          basic.push(await runLeanHttpLoad({ url: `${url}/bench11`, method: 'POST', body, headers: { ...headers, ServiceBusAuthorization: token }, connections, durationMs }));
          tcp.push(await runNetTcpLoad({ port, via: `${netTcp}/bench12`, body: echoBody(size), connections, durationMs }));
          direct12.push(await runLeanHttpLoad({ ...soap12(serviceUrl), connections, durationMs }));
          relayed12.push(await runLeanHttpLoad({ ...soap12(`${url}/bench12`), connections, durationMs }));
        }
        const m = (xs: LoadResult[], k: LoadFigure) => median(xs.map((x) => x[k]));
        const [d, b, t] = [m(direct, 'callsPerSecond'), m(basic, 'callsPerSecond'), m(tcp, 'callsPerSecond')];
        const [d12, r12] = [m(direct12, 'callsPerSecond'), m(relayed12, 'callsPerSecond')];
        const us = (k: LoadFigure) => [direct, basic, tcp].map((x) => m(x, k).toFixed(0)).join(' / ');
        lines.push(
          `| ${size / 1024} KiB | ${connections} | ${d.toFixed(0)} | ${b.toFixed(0)} | ${t.toFixed(0)} | ${(t / b).toFixed(2)} | ${(t / d).toFixed(2)} | ${us('p50Us')} | ${us('p99Us')} | ${d12.toFixed(0)} / ${r12.toFixed(0)} | ${(r12 / d12).toFixed(2)} |`,
        );
        const errors = [...direct, ...basic, ...tcp, ...direct12, ...relayed12].reduce((n, x) => n + x.errors, 0);
        if (errors) lines.push(`  (errors: ${errors})`);
      }
    }
  } finally {
    agent.stop();
    relay.stop();
    service.stop();
  }
  return lines.join('\n');
}

/**
 * A `nettcp` target (a net.tcp service behind the agent), in one run: net.tcp clients straight to
 * the service and through the relay (each client session carried to a service session of its
 * own), and sessionless SOAP 1.2 POSTs through the relay with a service session per call (the
 * default) or a shared pool (`shareSessions`, for PerCall and Single services).
 */
export async function benchNetTcpSessions(options: { durationMs?: number; rounds?: number } = {}): Promise<string> {
  const durationMs = options.durationMs ?? 3000;
  const rounds = options.rounds ?? 3;
  const service = await startRole(['nettcp-service']);
  const relay = await startRole(['nettcp-relay']);
  const agent = await startRole(['nettcp-session-agent', String(relay.info.url), String(service.info.url)]);
  // The same relay's basicHttp path to a SOAP 1.1 echo service (`http` target), for the ratio in the same run.
  const soapEcho = await startRole(['soap-echo']);
  const httpAgent = await startRole(['nettcp-agent', String(relay.info.url), String(soapEcho.info.url)]);
  // The Node floor for carried sessions (bench/floor.ts): framing only, a WebSocket per session, the same service.
  const floorRelay = await startRole(['floor-nettcp-relay']);
  const floorAgent = await startRole(['floor-nettcp-agent', String(floorRelay.info.url), String(service.info.url)]);
  const floorNetTcp = String(floorRelay.info.netTcp);
  const floorPort = Number(new URL(floorNetTcp.replace(/^net\.tcp:/, 'http:')).port);
  const serviceVia = String(service.info.url);
  const servicePort = Number(new URL(serviceVia.replace(/^net\.tcp:/, 'http:')).port);
  const url = String(relay.info.url);
  const netTcp = String(relay.info.netTcp);
  const port = Number(new URL(netTcp.replace(/^net\.tcp:/, 'http:')).port);
  const lines = [
    '| conns | net.tcp direct calls/s | carried, binary calls/s | carried, text calls/s | binary / text | binary / direct | basicHttp relayed (`http` target) calls/s | binary / basicHttp | HTTP, session per call calls/s | HTTP, shared pool calls/s | per call / shared | p50 µs direct / binary / text / basicHttp / per call / shared | relay + agent CPU µs per call, binary / text / basicHttp | basicHttp CPU / binary CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const basicBody = soap11Echo(1024);
  const basicToken = createSasToken({ resourceUri: `${url}/bench11`, keyName: BENCH_KEY_NAME, key: BENCH_KEY });
  const basicHeaders = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${ECHO_ACTION}"`, 'Content-Length': String(basicBody.length), ServiceBusAuthorization: basicToken };
  const body = echoBody(1024);
  // Each call its own MessageID (as WCF clients send), so calls on a shared session never collide.
  const soap12 = (path: string) => ({
    url: `${url}/${path}`,
    method: 'POST',
    body: Buffer.from(requestEnvelope({ action: ECHO_ACTION, to: `${url}/${path}`, body, messageId: `urn:uuid:${BODY_UUID}` })),
    uniqueInBody: BODY_UUID,
    headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${ECHO_ACTION}"` },
  });
  type Carried = LoadResult & { cpuUs: number; relayUs: number; agentUs: number };
  /** A carried run, with the relay's and the agent's CPU per call over the measured part (after warm-up and session set-up). */
  const carriedRun = async (path: string, connections: number, streamed = false, floor = false): Promise<Carried> => {
    const [r1, a1] = floor ? [floorRelay, floorAgent] : [relay, agent];
    let relay0 = 0;
    let agent0 = 0;
    const onStart = () => {
      relay0 = r1.cpuUs();
      agent0 = a1.cpuUs();
    };
    const r = await runNetTcpLoad({ port: floor ? floorPort : port, via: `${floor ? floorNetTcp : netTcp}/${path}`, body, connections, durationMs, streamed, onStart });
    const relayUs = (r1.cpuUs() - relay0) / r.calls;
    const agentUs = (a1.cpuUs() - agent0) / r.calls;
    return { ...r, cpuUs: relayUs + agentUs, relayUs, agentUs };
  };
  // Streamed clients (a preamble per call, relayed one request per envelope) to the pooled paths:
  // binary XML between relay and agent (protocol/hyco/binary-soap.ts) against text.
  const floorLines = [
    '',
    '| conns | carried, binary calls/s | Node floor carried calls/s | binary / basicHttp | Node floor / basicHttp | relay CPU µs per call, relaybridge / floor | agent CPU µs per call, relaybridge / floor |',
    '|---|---|---|---|---|---|---|',
  ];
  const streamedLines = [
    '',
    '| conns | streamed, binary calls/s | streamed, text calls/s | binary / text | p50 µs binary / text | relay + agent CPU µs per call, binary / text |',
    '|---|---|---|---|---|---|',
  ];
  try {
    for (const connections of [1, 32]) {
      const direct: LoadResult[] = [];
      const binary: Carried[] = [];
      const text: Carried[] = [];
      const perCall: LoadResult[] = [];
      const shared: LoadResult[] = [];
      const basic: Array<LoadResult & { cpuUs: number }> = [];
      const floor: Carried[] = [];
      const streamedBinary: Carried[] = [];
      const streamedText: Carried[] = [];
      for (let r = 0; r < rounds; r++) {
        direct.push(await runNetTcpLoad({ port: servicePort, via: serviceVia, body, connections, durationMs }));
        binary.push(await carriedRun('bench-session', connections));
        text.push(await carriedRun('bench-session-text', connections));
        let basicCpu0 = 0;
        const b11 = await runLeanHttpLoad({ url: `${url}/bench11`, method: 'POST', body: basicBody, headers: basicHeaders, connections, durationMs, onStart: () => (basicCpu0 = relay.cpuUs() + httpAgent.cpuUs()) });
        basic.push({ ...b11, cpuUs: (relay.cpuUs() + httpAgent.cpuUs() - basicCpu0) / b11.calls });
        floor.push(await carriedRun('bench-session', connections, false, true));
        perCall.push(await runLeanHttpLoad({ ...soap12('bench-session'), connections, durationMs }));
        shared.push(await runLeanHttpLoad({ ...soap12('bench-shared'), connections, durationMs }));
        streamedBinary.push(await carriedRun('bench-shared', connections, true));
        streamedText.push(await carriedRun('bench-shared-text', connections, true));
      }
      const m = (xs: LoadResult[], k: LoadFigure) => median(xs.map((x) => x[k]));
      const [d, b, t, p, s, h] = [direct, binary, text, perCall, shared, basic].map((x) => m(x, 'callsPerSecond')) as [number, number, number, number, number, number];
      const cpus = [binary, text, basic].map((xs) => median(xs.map((x) => x.cpuUs)));
      const cpu = `${cpus.map((c) => c.toFixed(0)).join(' / ')} | ${(cpus[2]! / cpus[0]!).toFixed(2)}`;
      lines.push(
        `| ${connections} | ${d.toFixed(0)} | ${b.toFixed(0)} | ${t.toFixed(0)} | ${(b / t).toFixed(2)} | ${(b / d).toFixed(2)} | ${h.toFixed(0)} | ${(b / h).toFixed(2)} | ${p.toFixed(0)} | ${s.toFixed(0)} | ${(p / s).toFixed(2)} | ${[direct, binary, text, basic, perCall, shared].map((x) => m(x, 'p50Us').toFixed(0)).join(' / ')} | ${cpu} |`,
      );
      const errors = [...direct, ...binary, ...text, ...basic, ...perCall, ...shared].reduce((n, x) => n + x.errors, 0);
      if (errors) lines.push(`  (errors: ${errors})`);
      const f = m(floor, 'callsPerSecond');
      const us = (xs: Carried[], k: 'relayUs' | 'agentUs') => median(xs.map((x) => x[k])).toFixed(0);
      floorLines.push(
        `| ${connections} | ${b.toFixed(0)} | ${f.toFixed(0)} | ${(b / h).toFixed(2)} | ${(f / h).toFixed(2)} | ${us(binary, 'relayUs')} / ${us(floor, 'relayUs')} | ${us(binary, 'agentUs')} / ${us(floor, 'agentUs')} |`,
      );
      const floorErrors = floor.reduce((n, x) => n + x.errors, 0);
      if (floorErrors) floorLines.push(`  (errors: ${floorErrors})`);
      const [sb, st] = [streamedBinary, streamedText].map((x) => m(x, 'callsPerSecond')) as [number, number];
      streamedLines.push(
        `| ${connections} | ${sb.toFixed(0)} | ${st.toFixed(0)} | ${(sb / st).toFixed(2)} | ${[streamedBinary, streamedText].map((x) => m(x, 'p50Us').toFixed(0)).join(' / ')} | ${[streamedBinary, streamedText].map((xs) => median(xs.map((x) => x.cpuUs)).toFixed(0)).join(' / ')} |`,
      );
      const streamedErrors = [...streamedBinary, ...streamedText].reduce((n, x) => n + x.errors, 0);
      if (streamedErrors) streamedLines.push(`  (errors: ${streamedErrors})`);
    }
  } finally {
    floorAgent.stop();
    floorRelay.stop();
    httpAgent.stop();
    soapEcho.stop();
    agent.stop();
    relay.stop();
    service.stop();
  }
  lines.push(...floorLines, ...streamedLines);
  const conv = carrierConversionUs(body, durationMs);
  lines.push(
    '',
    `Envelope work per carried 1 KiB call, measured in-process with the functions relay and agent run: text carrier ${conv.text.toFixed(1)} µs ` +
      '(relay: request NBFX → XML text, reply text → tokens → NBFX; agent: To rewrite + text → NBFX, reply NBFX → text + head scan); ' +
      `binary carrier ${conv.binary.toFixed(1)} µs (relay: request decoded once and passed on with the client's strings, token cut and To set in its bytes; reply head read; agent: nothing).`,
  );
  return lines.join('\n');
}

/**
 * µs per call of the envelope work on the carried path, text carrier against binary, with the
 * same functions and session dictionaries the relay (nmf-connection.ts) and the agent
 * (net-tcp-session.ts) use.
 */
function carrierConversionUs(body: string, durationMs: number): { text: number; binary: number } {
  const to = 'net.tcp://127.0.0.1:808/service';
  const request = (id: string) => requestEnvelope({ action: ECHO_ACTION, to: 'net.tcp://relay.example.com/bench-session', body, messageId: id });
  const reply = (id: string) =>
    `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${ECHO_ACTION}Response</a:Action><a:RelatesTo>${id}</a:RelatesTo></s:Header><s:Body><EchoResponse xmlns="${NS}"><EchoResult>${'x'.repeat(800)}</EchoResult></EchoResponse></s:Body></s:Envelope>`;
  // Both directions as a client and a service would produce them (binary with session dictionaries).
  const clientWriter = new SessionWriter();
  const serviceWriter = new SessionWriter();
  const relayReader = new SessionReader();
  const relayWriter = new SessionWriter();
  const agentWriter = new SessionWriter();
  const agentReader = new SessionReader();
  const mirror = new SessionReader();
  const id = `urn:uuid:${randomUUID()}`;
  const first = [Buffer.concat(xmlToBinary(Buffer.from(request(id)), { session: clientWriter })), Buffer.concat(xmlToBinary(Buffer.from(reply(id)), { session: serviceWriter }))];
  // Later messages of the session, as the loop sends them: the session strings were defined by the first.
  const fromClient = Buffer.concat(xmlToBinary(Buffer.from(request(id)), { session: clientWriter }));
  const fromService = Buffer.concat(xmlToBinary(Buffer.from(reply(id)), { session: serviceWriter }));
  decodeRequest(first[0]!, relayReader);
  binaryToXml(first[1]!, { session: agentReader });
  decodeEnvelope(first[1]!, { session: mirror });
  const textCall = () => {
    // relay, request: NBFX → text for the carrier
    const text = requestXml(decodeRequest(fromClient, relayReader)).toString('utf8');
    // agent, request: To rewrite, text → NBFX, framed
    encodeSizedEnvelope(xmlToBinary(rewriteAddressingTo(Buffer.from(text), to).body, { session: agentWriter }));
    // agent, reply: NBFX → text, head scan
    const replyXml = Buffer.from(binaryToXml(fromService, { session: agentReader, selfClose: true }), 'utf8');
    scanEnvelope(replyXml);
    // relay, reply: text → tokens, head read, tokens → NBFX, framed
    const tokens = parseXml(replyXml.toString('utf8'));
    encodeReply(TokenSoapMessage.read(tokens).tokens, relayWriter);
  };
  const binaryCall = () => {
    // relay, request: decoded once (authorization), passed on with the client's strings, To spliced in
    encodeSizedEnvelope(carriedRequestPayload(decodeRequest(fromClient, relayReader), to, true).payload);
    // relay, reply: head read with the mirror of the service's strings, framed as it is
    replyHead(decodeEnvelope(fromService, { session: mirror }));
    encodeSizedEnvelope(fromService);
  };
  const ms = Math.min(durationMs, 1000);
  return { text: 1e6 / rate(textCall, ms), binary: 1e6 / rate(binaryCall, ms) };
}

/** Envelopes for the codec benchmark, as WCF would send them (SOAP 1.2 + WS-Addressing). */
function codecEnvelopes(): Array<{ name: string; xml: string }> {
  const env = (body: string) =>
    requestEnvelope({ action: `${NS}/ICalculator/Op`, to: 'net.tcp://relay.example.com/calc', messageId: `urn:uuid:${randomUUID()}`, body });
  const record = (i: number) =>
    `<Record xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Id>${i}</Id><Name>name ${i}</Name><Value>${i * 1.5}</Value><When>2024-01-02T03:04:05Z</When><Tags><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/Arrays">a</string><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/Arrays">b</string></Tags></Record>`;
  return [
    { name: 'Add (small)', xml: env(`<Add xmlns="${NS}"><a>2</a><b>3</b></Add>`) },
    { name: 'Echo 1 KiB', xml: env(echoBody(1024)) },
    { name: 'Echo 64 KiB', xml: env(echoBody(64 * 1024)) },
    { name: '200 DataContract records', xml: env(`<Process xmlns="${NS}"><input xmlns:d="${NS}/data">${Array.from({ length: 200 }, (_, i) => record(i)).join('')}</input></Process>`) },
  ];
}

/** Runs fn repeatedly for about ms; returns calls per second. */
function rate(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 10; i++) fn();
    n += 10;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

export function benchCodecs(options: { durationMs?: number } = {}): string {
  const ms = options.durationMs ?? 1000;
  const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false });
  const builder = new XMLBuilder({ ignoreAttributes: false });
  const policy = SOAP_STRING_POLICY;
  const lines = [
    '| envelope | XML bytes | NBFX bytes | NBFX decode MB/s | text parseXml MB/s | fast-xml-parser parse MB/s | NBFX encode MB/s | fast-xml-parser build MB/s | decode vs fxp | encode vs fxp |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { name, xml } of codecEnvelopes()) {
    const tokens = parseXml(xml);
    const writer = new SessionWriter();
    const [table, body] = encodeEnvelope(tokens, { session: writer, policy });
    const reader = new SessionReader();
    reader.readStringTable(Buffer.concat([table!, body!]));
    const obj: unknown = parser.parse(xml);
    const xmlBytes = Buffer.byteLength(xml);
    // MB/s are counted in XML text bytes for every codec, so the columns compare work per document.
    const mb = (perSecond: number) => ((perSecond * xmlBytes) / 1e6).toFixed(1);
    const dec = rate(() => readNbfx(body!, { session: reader, hints: false }), ms);
    const txt = rate(() => parseXml(xml), ms);
    const fxpParse = rate(() => parser.parse(xml), ms);
    const enc = rate(() => encodeEnvelope(tokens, { session: writer, policy }), ms);
    const fxpBuild = rate(() => builder.build(obj), ms);
    lines.push(
      `| ${name} | ${xmlBytes} | ${table!.length + body!.length} | ${mb(dec)} | ${mb(txt)} | ${mb(fxpParse)} | ${mb(enc)} | ${mb(fxpBuild)} | ${(dec / fxpParse).toFixed(1)}x | ${(enc / fxpBuild).toFixed(1)}x |`,
    );
  }
  return lines.join('\n');
}
