/**
 * The access log: one `access` line per call and per refusal on every endpoint (HTTP, SOAP,
 * metadata, management, WebSocket, net.tcp), with a correlation id the caller sees in the
 * Relaybridge-Correlation-Id header (and JSON errors, and the agent's faults) and the agent logs
 * its side of the call under. Real relay, real agent, real local services; loggers that keep lines.
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../src/core/logger';
import WebSocket from 'ws';
import type { RelayServer } from '../../src/relay/relay-server';
import { Harness, request, token, waitFor } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';
import { memoryLogger, type LogLine } from './faults-support';

const NS = 'http://example.org/calc';
const SOAP11_ADD = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Add xmlns="${NS}"><a>2</a><b>3</b></Add></s:Body></s:Envelope>`;

/** A SOAP 1.1 calculator: Add answers, anything else is a 415 (not SOAP). */
const soap11: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET') {
      res.writeHead(404).end();
      return;
    }
    const text = Buffer.concat(chunks).toString();
    const action = /<(?:\w+:)?Action[^>]*>([^<]*)</.exec(text)?.[1] ?? String(req.headers.soapaction ?? '');
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
    res.end(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><AddResponse xmlns="${NS}"><AddResult>5</AddResult><Action>${action}</Action></AddResponse></s:Body></s:Envelope>`);
  });
};

describe('access log and correlation ids', () => {
  const h = new Harness();
  const relayLog: LogLine[] = [];
  const agentLog: LogLine[] = [];
  let relay: RelayServer;
  const access = (id: string) => relayLog.find((l) => l.msg === 'access' && l.id === id);
  const agentCall = (id: string) => agentLog.find((l) => l.msg === 'call' && l.id === id);

  beforeAll(async () => {
    relay = await h.relay({
      logger: memoryLogger(relayLog),
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: ['plain', 'calc', 'down'].map((path) => ({ path, requiresClientAuthorization: true })),
    });
    const plain = await h.httpService((_req, res) => res.end('hello'));
    const calc = await h.httpService(soap11);
    const agent = await h.agent(
      relay,
      [
        { path: 'plain', target: { type: 'http', url: plain.url } },
        { path: 'calc', target: { type: 'http', url: `${calc.url}/calc`, soapVersion: '1.1' } },
        // Nothing listens there: the agent answers with its own fault.
        { path: 'down', target: { type: 'http', url: 'http://127.0.0.1:9/svc', soapVersion: '1.1', timeoutMs: 2000 } },
      ],
      { logger: memoryLogger(agentLog) },
    );
    await agent.whenReady();
  });
  afterAll(() => h.close());

  it('a plain HTTP call: the caller, the relay and the agent name one id', async () => {
    const res = await request(`${relay.url}/plain/items?x=1`, { headers: { ServiceBusAuthorization: token(relay, 'plain') } });
    expect(res.status).toBe(200);
    const id = String(res.headers['relaybridge-correlation-id']);
    expect(id).toMatch(/^[\w.-]{8,}$/);
    await waitFor(() => access(id) !== undefined, 5000, 'the access line');
    expect(access(id)).toMatchObject({ level: 'info', component: 'access', endpoint: 'http', method: 'GET', path: 'plain', operation: 'GET', status: 200, remote: '127.0.0.1' });
    const line = access(id)!;
    expect(line.listener).toEqual(expect.any(String));
    expect(line.bytesIn).toBeGreaterThan(0);
    expect(line.bytesOut).toBeGreaterThan(0);
    expect(line.ms).toEqual(expect.any(Number));
    // The query (where a token may ride) is not in the line.
    expect(JSON.stringify(line)).not.toContain('x=1');
    expect(agentCall(id)).toMatchObject({ level: 'info', path: 'plain', method: 'GET', target: '/plain/items', status: 200 });
    // Each field once: the agent's line has its path from one binding only.
    expect(Object.keys(agentCall(id)!).filter((k) => k === 'path')).toHaveLength(1);
  });

  it('refusals are logged with their status and code; the JSON error names the id', async () => {
    const missing = await request(`${relay.url}/plain/x`);
    expect(missing.status).toBe(401);
    const id = String(missing.headers['relaybridge-correlation-id']);
    expect(JSON.parse(missing.body.toString()).error.correlationId).toBe(id);
    await waitFor(() => access(id) !== undefined, 5000, 'the access line');
    expect(access(id)).toMatchObject({ endpoint: 'http', path: 'plain', status: 401, code: 'RELAY_ERR_SAS_MISSING' });

    const unknown = await request(`${relay.url}/nowhere/x`, { headers: { ServiceBusAuthorization: token(relay, 'nowhere') } });
    expect(unknown.status).toBe(404);
    const id404 = String(unknown.headers['relaybridge-correlation-id']);
    await waitFor(() => access(id404) !== undefined, 5000, 'the access line');
    expect(access(id404)).toMatchObject({ endpoint: 'http', path: '/nowhere/x', status: 404, code: 'RELAY_ERR_ENTITY_NOT_FOUND' });
  });

  it('a SOAP call is logged under its operation; an agent-side failure names the same id everywhere', async () => {
    const ok = await request(`${relay.url}/calc`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Add"`, ServiceBusAuthorization: token(relay, 'calc') },
      body: SOAP11_ADD,
    });
    expect(ok.status).toBe(200);
    const id = String(ok.headers['relaybridge-correlation-id']);
    await waitFor(() => access(id) !== undefined && agentCall(id) !== undefined, 5000, 'both lines');
    expect(access(id)).toMatchObject({ endpoint: 'soap', method: 'POST', path: 'calc', operation: `${NS}/ICalculator/Add`, status: 200 });
    expect(agentCall(id)).toMatchObject({ status: 200, target: '/calc' });

    const down = await request(`${relay.url}/down`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Add"`, ServiceBusAuthorization: token(relay, 'down') },
      body: SOAP11_ADD,
    });
    expect(down.status).toBe(500);
    const failed = String(down.headers['relaybridge-correlation-id']);
    // The fault's Reason, the agent's warning and both access lines: one id.
    expect(down.body.toString()).toContain(`(id ${failed})`);
    await waitFor(() => access(failed) !== undefined && agentCall(failed) !== undefined, 5000, 'both lines');
    expect(access(failed)).toMatchObject({ endpoint: 'soap', path: 'down', status: 500 });
    expect(agentCall(failed)).toMatchObject({ status: 500, code: 'RELAY_ERR_TARGET_UNREACHABLE' });
    expect(agentLog.find((l) => l.level === 'warn' && l.correlationId === failed)).toMatchObject({ code: 'RELAY_ERR_TARGET_UNREACHABLE' });
  });

  it('net.tcp calls, WebSocket refusals and management requests get lines too', async () => {
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    try {
      await c.open(`${relay.netTcp!.url}/calc`);
      const reply = await c.request(`${NS}/ICalculator/Add`, `<Add xmlns="${NS}"><a>2</a><b>3</b></Add>`, { token: token(relay, 'calc') });
      expect(reply).toContain('AddResult');
    } finally {
      c.destroy();
    }
    // Refused before it is relayed (no token): the fault names the id its access line has.
    const bare = await NetTcpClient.connect({ port: relay.netTcp!.port });
    try {
      await bare.open(`${relay.netTcp!.url}/calc`);
      const fault = await bare.request(`${NS}/ICalculator/Add`, `<Add xmlns="${NS}"><a>1</a><b>1</b></Add>`);
      const refusedId = /\(id ([\w.-]+)\)/.exec(fault)?.[1];
      expect(refusedId).toBeDefined();
      await waitFor(() => access(refusedId!) !== undefined, 5000, 'the refusal line');
      expect(access(refusedId!)).toMatchObject({ endpoint: 'net.tcp', path: 'calc', status: 401, code: 'RELAY_ERR_SAS_MISSING' });
    } finally {
      bare.destroy();
    }
    await waitFor(() => relayLog.some((l) => l.msg === 'access' && l.endpoint === 'net.tcp' && l.status === 200), 5000, 'the net.tcp line');
    const tcp = relayLog.find((l) => l.msg === 'access' && l.endpoint === 'net.tcp' && l.status === 200)!;
    expect(tcp).toMatchObject({ path: 'calc', operation: `${NS}/ICalculator/Add`, status: 200, remote: '127.0.0.1' });
    expect(agentCall(String(tcp.id))).toMatchObject({ status: 200 });

    const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/$hc/plain?sb-hc-action=connect`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    ws.terminate();
    expect(status).toBe(401);
    const wsLine = () => relayLog.find((l) => l.msg === 'access' && l.endpoint === 'websocket' && l.status === 401);
    await waitFor(() => wsLine() !== undefined, 5000, 'the WebSocket line');
    expect(wsLine()).toMatchObject({ path: 'plain', operation: 'connect', code: 'RELAY_ERR_SAS_MISSING' });
    // The agent's listener connected: a `listen` line with its id.
    expect(relayLog.find((l) => l.msg === 'access' && l.endpoint === 'websocket' && l.operation === 'listen')).toMatchObject({ path: 'plain', status: 101, listener: expect.any(String) });

    const mgmt = await request(`${relay.url}/$management/hybridconnections/plain`, { headers: { Authorization: token(relay, '') } });
    expect(mgmt.status).toBe(200);
    const id = String(mgmt.headers['relaybridge-correlation-id']);
    await waitFor(() => access(id) !== undefined, 5000, 'the management line');
    expect(access(id)).toMatchObject({ endpoint: 'management', method: 'GET', status: 200 });
  });

  it('accessLog: false writes no lines, and still gives every caller its id', async () => {
    const quietLog: LogLine[] = [];
    const quiet = await h.relay({ logger: memoryLogger(quietLog), accessLog: false });
    const res = await request(`${quiet.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.headers['relaybridge-correlation-id']).toEqual(expect.any(String));
    await new Promise((r) => setTimeout(r, 100));
    expect(quietLog.filter((l) => l.msg === 'access')).toEqual([]);
  });
});

/** Top-level keys of one JSON object text, in order, duplicates kept (JSON.parse would drop them). */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && json[j + 1] === ':') keys.push(json.slice(i + 1, j));
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

describe('log lines as pino writes them', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('name each field once, with ISO timestamps (relay and agent, calls and failures)', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'debug', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink) as unknown as Logger;
    const relay = await h.relay({ logger, entities: [{ path: 'calc', requiresClientAuthorization: false }, { path: 'down', requiresClientAuthorization: false }] });
    const calc = await h.httpService(soap11);
    const agent = await h.agent(
      relay,
      [
        { path: 'calc', target: { type: 'http', url: `${calc.url}/calc`, soapVersion: '1.1' } },
        { path: 'down', target: { type: 'http', url: 'http://127.0.0.1:9/svc', soapVersion: '1.1', timeoutMs: 2000 } },
      ],
      { logger },
    );
    await agent.whenReady();
    const soap = (path: string) =>
      request(`${relay.url}/${path}`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${NS}/ICalculator/Add"` }, body: SOAP11_ADD });
    expect((await soap('calc')).status).toBe(200);
    expect((await soap('down')).status).toBe(500);
    expect((await request(`${relay.url}/calc/plain`)).status).toBe(404); // the service's own 404 for a GET
    await waitFor(() => lines.filter((l) => l.includes('"msg":"access"')).length >= 3, 5000, 'the access lines');
    expect(lines.some((l) => l.includes('"msg":"call"'))).toBe(true);
    for (const line of lines) {
      const keys = topLevelKeys(line);
      expect({ line, dup: keys.filter((k, i) => keys.indexOf(k) !== i) }).toEqual({ line, dup: [] });
      expect(JSON.parse(line).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });
});
