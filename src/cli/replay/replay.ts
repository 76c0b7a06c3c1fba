/**
 * Sample-driven migration testing: replays a folder of recorded SOAP requests through the relay
 * and compares each answer with the recorded one (xml-compare.ts).
 *
 * Folder format (one case per NAME):
 *   NAME.request.xml    the request envelope, sent as recorded (SOAP 1.1 or 1.2)
 *   NAME.response.xml   the recorded response; absent = a one-way call (expects 202/200, empty)
 *   NAME.json           optional: { "soapAction": "…", "contentType": "…", "status": 500,
 *                       "path": "sub/path", "headers": {…}, "ignore": […], "ignoreValues": […] }
 *   replay.json         optional, for the whole folder: { "ignore": […], "ignoreValues": […],
 *                       "unordered": […], "operations": { "<SOAP action>": { "ignore": […], … } } }
 * Without a status, a recorded Fault expects 500, an empty or absent response 202 (or 200), else 200;
 * a one-way case (no response) recorded with 200 or 202 takes either.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../core/errors';
import { formatIssues, type SchemaIssue } from '../../core/options-util';
import { formatSoapActionHeader, soap12ContentType } from '../../protocol/soap/content-type';
import { scanEnvelope } from '../../protocol/soap/envelope';
import { byOperation } from './reports';
import { canonicalLines, DEFAULT_IGNORE, DEFAULT_IGNORE_VALUES, diffLines, type CompareOptions } from './xml-compare';

const caseMetaSchema = z.strictObject({
  soapAction: z.string().optional(),
  contentType: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  path: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  ignore: z.array(z.string()).optional(),
  ignoreValues: z.array(z.string()).optional(),
  unordered: z.array(z.string()).optional(),
  /** What `relaybridge record` redacted in this case (for people; not used by the replay). */
  redacted: z.array(z.string()).optional(),
});
const rulesSchema = z.strictObject({
  ignore: z.array(z.string()).optional(),
  ignoreValues: z.array(z.string()).optional(),
  /** Elements whose children may come in any order (xml-compare.ts). */
  unordered: z.array(z.string()).optional(),
});
const folderMetaSchema = rulesSchema.extend({
  description: z.string().optional(),
  /** Rules for the cases of one operation (its SOAP action), beside the folder's. */
  operations: z.record(z.string(), rulesSchema).optional(),
});

export type CompareRules = z.output<typeof rulesSchema>;

export type CaseMeta = z.output<typeof caseMetaSchema>;

export interface ReplayCase {
  readonly name: string;
  readonly request: Buffer;
  readonly expected: Buffer | undefined;
  readonly meta: CaseMeta;
}

export interface ReplayFolder {
  readonly cases: readonly ReplayCase[];
  readonly ignore: readonly string[];
  readonly ignoreValues: readonly string[];
  readonly unordered: readonly string[];
  /** Per operation (SOAP action): more rules for its cases. */
  readonly operations: Readonly<Record<string, CompareRules>>;
}

function readJson<T extends z.ZodTypeAny>(file: string, schema: T): z.output<T> {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const r = schema.safeParse(data);
  if (!r.success) throw new ConfigError(`invalid ${file}`, formatIssues(r.error.issues as unknown as SchemaIssue[]));
  return r.data;
}

/** Reads the cases of a folder, sorted by name. */
export function loadReplayFolder(dir: string): ReplayFolder {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`cannot read the replay folder ${dir}: ${(err as Error).message}`);
  }
  const folder = names.includes('replay.json') ? readJson(path.join(dir, 'replay.json'), folderMetaSchema) : {};
  const cases = names
    .filter((n) => n.endsWith('.request.xml'))
    .sort()
    .map((n): ReplayCase => {
      const name = n.slice(0, -'.request.xml'.length);
      const responseFile = path.join(dir, `${name}.response.xml`);
      const metaFile = path.join(dir, `${name}.json`);
      return {
        name,
        request: fs.readFileSync(path.join(dir, n)),
        expected: fs.existsSync(responseFile) ? fs.readFileSync(responseFile) : undefined,
        meta: fs.existsSync(metaFile) ? readJson(metaFile, caseMetaSchema) : {},
      };
    });
  if (cases.length === 0) throw new ConfigError(`no *.request.xml files in ${dir}`);
  return { cases, ignore: folder.ignore ?? [], ignoreValues: folder.ignoreValues ?? [], unordered: folder.unordered ?? [], operations: folder.operations ?? {} };
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type Sender = (url: string, headers: Record<string, string>, body: Buffer, timeoutMs: number) => Promise<HttpResult>;

export const httpSender: Sender = (url, headers, body, timeoutMs) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });

export interface ReplayOptions {
  readonly dir: string;
  /** The relay's base URL, e.g. https://relay.example.com:9443. */
  readonly relayUrl: string;
  /** The hybrid connection path. */
  readonly path: string;
  /** A SAS token for the path (sent as ServiceBusAuthorization). */
  readonly token?: string;
  /** Extra ignore rules (added to the folder's and the defaults). */
  readonly ignore?: readonly string[];
  readonly ignoreValues?: readonly string[];
  /** Elements whose children may come in any order. */
  readonly unordered?: readonly string[];
  /** Drop the default ignore rules (MessageID, RelatesTo, Timestamp, GUIDs, date-times). */
  readonly noDefaultIgnores?: boolean;
  readonly timeoutMs?: number;
  readonly send?: Sender;
  /**
   * Compare two live services: each request goes first to this one (the legacy service: a full
   * endpoint URL, with `token` when it is on the relay), and its answer is what the other must
   * give, instead of the recorded one.
   */
  readonly against?: { readonly url: string; readonly token?: string };
}

export type CaseOutcome = 'pass' | 'mismatch' | 'error';

export interface CaseResult {
  readonly name: string;
  /** The SOAP action of the case (the per-operation summary and reports group by it). */
  readonly operation: string;
  readonly outcome: CaseOutcome;
  readonly status?: number;
  readonly expectedStatus: string;
  /** Diff lines ('-' recorded, '+' replayed) or the error. */
  readonly details: readonly string[];
  readonly ms: number;
}

export interface ReplaySummary {
  readonly results: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
}

/** The case's operation: its SOAP action (meta, WS-Addressing or SOAPAction header), else '(no action)'. */
function operationOf(c: ReplayCase): string {
  if (c.meta.soapAction) return c.meta.soapAction;
  try {
    const action = scanEnvelope(c.request).addressing?.action;
    if (action) return action;
  } catch {
    /* not an envelope we read */
  }
  const header = Object.entries(c.meta.headers ?? {}).find(([k]) => k.toLowerCase() === 'soapaction')?.[1];
  return header?.replace(/^"|"$/g, '') || '(no action)';
}

function requestHeaders(c: ReplayCase): Record<string, string> {
  const headers: Record<string, string> = { ...c.meta.headers };
  if (c.meta.contentType) headers['Content-Type'] = c.meta.contentType;
  let version: 'soap11' | 'soap12' | undefined;
  let wsaAction: string | undefined;
  try {
    const env = scanEnvelope(c.request);
    version = env.soapVersion;
    wsaAction = env.addressing?.action;
  } catch {
    /* sent as recorded; the service will say what is wrong */
  }
  if (!headers['Content-Type']) headers['Content-Type'] = version === 'soap12' ? soap12ContentType(c.meta.soapAction ?? wsaAction) : 'text/xml; charset=utf-8';
  if (version !== 'soap12' && !Object.keys(headers).some((k) => k.toLowerCase() === 'soapaction')) {
    headers.SOAPAction = formatSoapActionHeader(c.meta.soapAction ?? wsaAction ?? '');
  }
  return headers;
}

function expectedStatus(c: ReplayCase): { text: string; ok: (s: number) => boolean } {
  // A one-way call's answer is "accepted, nothing to say": 202 (.NET, Microsoft's listeners) or
  // 200 with no body (Mono, some toolkits); a WCF client takes either, so either matches the other.
  const expected = c.expected;
  const oneWay = !expected || expected.toString('utf8').trim() === '';
  if (oneWay && (c.meta.status === undefined || c.meta.status === 200 || c.meta.status === 202)) return { text: '202 or 200 (one-way)', ok: (s) => s === 202 || s === 200 };
  if (c.meta.status !== undefined) return { text: String(c.meta.status), ok: (s) => s === c.meta.status };
  let fault = false;
  try {
    fault = !oneWay && scanEnvelope(expected).isFault;
  } catch {
    /* compared as XML below */
  }
  return fault ? { text: '500 (fault)', ok: (s) => s === 500 } : { text: '200', ok: (s) => s === 200 };
}

async function runCase(c: ReplayCase, o: ReplayOptions, folder: ReplayFolder, send: Sender): Promise<CaseResult> {
  const started = Date.now();
  const operation = operationOf(c);
  const base = `${o.relayUrl.replace(/\/+$/, '')}/${o.path.replace(/^\/+|\/+$/g, '')}`;
  const url = c.meta.path ? `${base}/${c.meta.path.replace(/^\/+/, '')}` : base;
  const headers = requestHeaders(c);
  if (o.token) headers.ServiceBusAuthorization = o.token;
  const want = expectedStatus(c);
  let res: HttpResult;
  try {
    res = await send(url, headers, c.request, o.timeoutMs ?? 30_000);
  } catch (err) {
    return { name: c.name, operation, outcome: 'error', expectedStatus: want.text, details: [`request failed: ${(err as Error).message}`], ms: Date.now() - started };
  }
  const details: string[] = [];
  if (!want.ok(res.status)) details.push(`HTTP status: recorded ${want.text}, replayed ${res.status}`);
  const op = folder.operations[operation] ?? {};
  const compare: CompareOptions = {
    ignore: [...(o.noDefaultIgnores ? [] : DEFAULT_IGNORE), ...folder.ignore, ...(op.ignore ?? []), ...(c.meta.ignore ?? []), ...(o.ignore ?? [])],
    ignoreValues: [...(o.noDefaultIgnores ? [] : DEFAULT_IGNORE_VALUES), ...folder.ignoreValues, ...(op.ignoreValues ?? []), ...(c.meta.ignoreValues ?? []), ...(o.ignoreValues ?? [])],
    unordered: [...folder.unordered, ...(op.unordered ?? []), ...(c.meta.unordered ?? []), ...(o.unordered ?? [])],
  };
  const expectedEmpty = !c.expected || c.expected.toString('utf8').trim() === '';
  const actualEmpty = res.body.toString('utf8').trim() === '';
  if (expectedEmpty || actualEmpty) {
    if (expectedEmpty !== actualEmpty) {
      details.push(expectedEmpty ? `body: recorded none, replayed ${res.body.length} bytes:` : 'body: recorded a response, replayed none');
      if (!actualEmpty) details.push(...res.body.toString('utf8').slice(0, 2000).split('\n').map((l) => `+ ${l}`));
    }
  } else {
    let expected: string[];
    let actual: string[];
    try {
      expected = canonicalLines(c.expected!, compare);
    } catch (err) {
      throw new ConfigError(`${c.name}.response.xml is not well-formed XML: ${(err as Error).message}`);
    }
    try {
      actual = canonicalLines(res.body, compare);
    } catch (err) {
      details.push(`the replayed response is not XML (${(err as Error).message}):`, ...res.body.toString('utf8').slice(0, 2000).split('\n').map((l) => `+ ${l}`));
      return { name: c.name, operation, outcome: 'mismatch', status: res.status, expectedStatus: want.text, details, ms: Date.now() - started };
    }
    const diff = diffLines(expected, actual);
    if (!diff.equal) details.push('body differs (- recorded, + replayed):', ...diff.lines);
  }
  return { name: c.name, operation, outcome: details.length ? 'mismatch' : 'pass', status: res.status, expectedStatus: want.text, details, ms: Date.now() - started };
}

/** A case whose expected answer comes from the baseline service, asked now. */
async function againstCase(c: ReplayCase, o: ReplayOptions, against: { url: string; token?: string }, folder: ReplayFolder, send: Sender): Promise<CaseResult> {
  const started = Date.now();
  const url = c.meta.path ? `${against.url.replace(/\/+$/, '')}/${c.meta.path.replace(/^\/+/, '')}` : against.url;
  const headers = requestHeaders(c);
  if (against.token) headers.ServiceBusAuthorization = against.token;
  let baseline: HttpResult;
  try {
    baseline = await send(url, headers, c.request, o.timeoutMs ?? 30_000);
  } catch (err) {
    return { name: c.name, operation: operationOf(c), outcome: 'error', expectedStatus: '(the baseline did not answer)', details: [`baseline request failed: ${(err as Error).message}`], ms: Date.now() - started };
  }
  const expected = baseline.body.toString('utf8').trim() === '' ? undefined : baseline.body;
  return runCase({ ...c, expected, meta: { ...c.meta, status: baseline.status } }, o, folder, send);
}

/** Replays every case in order, printing one line per case, a diff per mismatch and a summary. */
export async function runReplay(o: ReplayOptions, print: (line: string) => void): Promise<ReplaySummary> {
  const folder = loadReplayFolder(o.dir);
  const send = o.send ?? httpSender;
  const results: CaseResult[] = [];
  print(`replaying ${folder.cases.length} case(s) from ${o.dir} through ${o.relayUrl.replace(/\/+$/, '')}/${o.path.replace(/^\/+/, '')}`);
  if (o.against) print(`answers compared with ${o.against.url}'s, not the recorded ones`);
  for (const c of folder.cases) {
    const r = o.against ? await againstCase(c, o, o.against, folder, send) : await runCase(c, o, folder, send);
    results.push(r);
    const tag = r.outcome === 'pass' ? 'PASS' : r.outcome === 'mismatch' ? 'FAIL' : 'ERROR';
    print(`${tag.padEnd(5)} ${r.name} (HTTP ${r.status ?? '-'}, ${r.ms} ms)`);
    for (const line of r.details) print(`      ${line}`);
  }
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const failed = results.length - passed;
  const ops = byOperation(results);
  if (ops.length > 1) for (const op of ops) print(`  ${op.operation}: ${op.passed}/${op.cases} passed`);
  print(`${passed} passed, ${failed} failed, ${results.length} total`);
  return { results, passed, failed };
}
