/**
 * `relaybridge record`: a recording proxy in front of a SOAP service. Point the agent's target
 * (or a client) at it; every SOAP call passing through is passed on unchanged and written to a
 * replay folder (replay.ts's format), so `relaybridge replay` can later send the same calls to the
 * service's replacement and compare the answers.
 *
 * Secrets never reach the folder: the text of elements named in `redact` (Password,
 * BinarySecurityToken, RelayAccessToken, Nonce by default) becomes `[redacted]`, recorded
 * headers named in `redactHeaders` too, and each case's `.json` says what was redacted
 * (`redacted: ["Password ×1"]`); `redactions.json` sums it up. Bounded: at most `maxCases` cases
 * (later calls are passed on, not recorded), messages over `maxMessageBytes` are passed on and
 * noted as skipped. GETs (?wsdl) are passed on, not recorded.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseXml } from '../../protocol/xml/text-reader';
import { writeXml } from '../../protocol/xml/text-writer';
import type { XmlToken } from '../../protocol/xml/tokens';
import { parseSoapActionHeader } from '../../protocol/soap/content-type';
import { scanEnvelope } from '../../protocol/soap/envelope';

export const DEFAULT_REDACT = ['Password', 'BinarySecurityToken', 'RelayAccessToken', 'Nonce'];
export const DEFAULT_REDACT_HEADERS = ['Authorization', 'ServiceBusAuthorization', 'Cookie', 'Proxy-Authorization'];
/** Headers a replayed call needs; others are not recorded. */
const KEPT_HEADERS = ['soapaction', 'content-type'];

export interface RecorderOptions {
  /** The service's endpoint URL; the proxy's own path suffix is appended. */
  readonly target: string;
  readonly dir: string;
  readonly maxCases: number;
  readonly maxMessageBytes: number;
  readonly redact: readonly string[];
  readonly redactHeaders: readonly string[];
  readonly log: (line: string) => void;
}

/** Replaces the text of elements named in `names` (local names, any namespace) with `[redacted]`; counts per name. */
export function redactXml(xml: Buffer | string, names: readonly string[]): { xml: string; counts: Record<string, number> } {
  const wanted = new Set(names);
  const tokens = parseXml(xml);
  const counts: Record<string, number> = {};
  const out: XmlToken[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'startElement') {
      if (depth > 0) {
        depth++;
        continue;
      }
      out.push(t);
      if (wanted.has(t.localName)) {
        counts[t.localName] = (counts[t.localName] ?? 0) + 1;
        depth = 1;
      }
      continue;
    }
    if (depth > 0) {
      if (t.kind === 'attribute') {
        // The redacted element's own attributes (depth 1) stay (EncodingType, ValueType…).
        if (depth === 1) out.push(t);
        continue;
      }
      if (t.kind === 'endElement') {
        depth--;
        if (depth === 0) out.push({ kind: 'text', value: '[redacted]' }, t);
      }
      continue;
    }
    out.push(t);
  }
  return { xml: writeXml(out), counts };
}

export class Recorder {
  readonly #o: RecorderOptions;
  #cases = 0;
  #skipped = 0;
  readonly #totals: Record<string, number> = {};
  readonly server: http.Server;

  constructor(options: RecorderOptions) {
    this.#o = options;
    fs.mkdirSync(options.dir, { recursive: true });
    this.server = http.createServer((req, res) => this.#handle(req, res));
  }

  get recorded(): number {
    return this.#cases;
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const o = this.#o;
    const suffix = (req.url ?? '/') === '/' ? '' : (req.url ?? '');
    const url = new URL(o.target.replace(/\/+$/, '') + suffix);
    const mod = url.protocol === 'https:' ? https : http;
    // Both ways the message streams through whole; a copy of it is kept up to the bound.
    const sent = keepUpTo(req, o.maxMessageBytes);
    const out = mod.request(url, { method: req.method, headers: { ...req.headers, host: url.host }, agent: false }, (answer) => {
      const got = keepUpTo(answer, o.maxMessageBytes);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => {
        if (req.method !== 'POST') return;
        const body = sent();
        const reply = got();
        if (body === undefined || reply === undefined) {
          this.#skipped++;
          o.log(`not recorded: a message over ${o.maxMessageBytes} bytes (--max-bytes)`);
          return;
        }
        this.#write(req, suffix, body, answer.statusCode ?? 0, reply);
      });
    });
    out.on('error', (err) => {
      o.log(`the service could not be reached: ${err.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`relaybridge record: ${err.message}\n`);
      else res.destroy();
    });
    req.pipe(out);
  }

  #write(req: http.IncomingMessage, suffix: string, body: Buffer, status: number, answer: Buffer): void {
    const o = this.#o;
    if (this.#cases >= o.maxCases) {
      this.#skipped++;
      if (this.#skipped === 1) o.log(`not recording more than ${o.maxCases} cases (--max-cases); calls still pass`);
      return;
    }
    let action = parseSoapActionHeader(headerOf(req.headers, 'soapaction'));
    let request: { xml: string; counts: Record<string, number> };
    let response: { xml: string; counts: Record<string, number> } | undefined;
    try {
      action ??= scanEnvelope(body).addressing?.action;
      request = redactXml(body, o.redact);
      response = answer.length > 0 ? redactXml(answer, o.redact) : undefined;
    } catch (err) {
      this.#skipped++;
      o.log(`not recorded: not an XML message (${(err as Error).message})`);
      return;
    }
    const n = ++this.#cases;
    const op = (action ?? 'call').replace(/^.*[/#:]/, '').replace(/[^A-Za-z0-9_-]/g, '') || 'call';
    const name = `${String(n).padStart(4, '0')}-${op}`;
    const counts: Record<string, number> = {};
    for (const c of [request.counts, response?.counts ?? {}]) for (const [k, v] of Object.entries(c)) counts[k] = (counts[k] ?? 0) + v;
    const recordedHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!KEPT_HEADERS.includes(k) || v === undefined) continue;
      const value = Array.isArray(v) ? v.join(', ') : v;
      if (o.redactHeaders.some((h) => h.toLowerCase() === k)) counts[`header ${k}`] = (counts[`header ${k}`] ?? 0) + 1;
      else recordedHeaders[k] = value;
    }
    for (const h of o.redactHeaders) if (req.headers[h.toLowerCase()] !== undefined && !KEPT_HEADERS.includes(h.toLowerCase())) counts[`header ${h}`] = (counts[`header ${h}`] ?? 0) + 1;
    const redacted = Object.entries(counts).map(([k, v]) => `${k} ×${v}`);
    for (const [k, v] of Object.entries(counts)) this.#totals[k] = (this.#totals[k] ?? 0) + v;
    fs.writeFileSync(path.join(o.dir, `${name}.request.xml`), request.xml);
    if (response) fs.writeFileSync(path.join(o.dir, `${name}.response.xml`), response.xml);
    const meta = {
      ...(action ? { soapAction: action } : {}),
      ...(recordedHeaders['content-type'] ? { contentType: recordedHeaders['content-type'] } : {}),
      status,
      ...(suffix ? { path: suffix.replace(/^\/+/, '') } : {}),
      ...(redacted.length ? { redacted } : {}),
    };
    fs.writeFileSync(path.join(o.dir, `${name}.json`), `${JSON.stringify(meta, null, 2)}\n`);
    fs.writeFileSync(
      path.join(o.dir, 'redactions.json'),
      `${JSON.stringify({ cases: this.#cases, skipped: this.#skipped, redactedElements: o.redact, redactedHeaders: o.redactHeaders, redacted: this.#totals }, null, 2)}\n`,
    );
    o.log(`recorded ${name} (HTTP ${status}${redacted.length ? `; redacted ${redacted.join(', ')}` : ''})`);
  }
}

function headerOf(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Watches `stream` and keeps what passes, up to `max` bytes: the whole of it once ended, or undefined when it was longer. */
function keepUpTo(stream: NodeJS.ReadableStream, max: number): () => Buffer | undefined {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= max) chunks.push(c);
  });
  return () => (size <= max ? Buffer.concat(chunks, size) : undefined);
}
