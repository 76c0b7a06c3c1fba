/**
 * Header floods: requests (HTTP, SOAP, WebSocket connect) with 300 headers, about 4 KiB, under
 * every size limit, sent every few ms at a path while a good caller makes 50 calls on it. The
 * relay refuses each flood request with 431 (a SOAP fault carrying Relaybridge-Status 431 for SOAP
 * callers) before any listener sees it; every good call succeeds, and the listener's control
 * channel never leaves READY. Before the fix each flood request made the agent's codec drop its
 * whole control channel (close 1008), and other callers got LISTENER_GONE / NO_LISTENER.
 */
import WebSocket from 'ws';
import type { Agent, AgentStateEvent } from '../../src/agent/agent';
import { Harness, request, type SimpleResponse } from '../helpers/harness';

const FLOOD_HEADERS = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`X-Flood-${i}`, 'v']));

/** Counts every state change after the agent was READY. */
function transitions(agent: Agent): AgentStateEvent[] {
  const seen: AgentStateEvent[] = [];
  agent.on('state', (e) => seen.push(e));
  return seen;
}

/** Fires `send` every few ms until stop() is called; collects what each one got. */
function flood<T>(send: () => Promise<T>, everyMs = 3): { stop: () => Promise<T[]> } {
  const results: Array<Promise<T>> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      results.push(send());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return Promise.all(results);
    },
  };
}

function wsConnect(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 30_000 });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('header flood', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('HTTP: 300-header requests get 431, 50 good calls all succeed, the listener never reconnects', async () => {
    const relay = await h.relay({ entities: [{ path: 'flood', requiresClientAuthorization: false }] });
    const service = await h.httpService();
    const agent = await h.agent(relay, [{ path: 'flood', target: { type: 'http', url: service.url, soapVersion: '1.1' } }]);
    await agent.whenReady(20_000);
    const changes = transitions(agent);

    const f = flood(() => request(`${relay.url}/flood/x`, { headers: FLOOD_HEADERS }));
    const good: SimpleResponse[] = [];
    for (let i = 0; i < 50; i++) good.push(await request(`${relay.url}/flood/ok/${i}`));
    const bad = await f.stop();

    expect(good.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(bad.length).toBeGreaterThan(0);
    expect(new Set(bad.map((r) => r.status))).toEqual(new Set([431]));
    const err = JSON.parse(bad[0]!.body.toString()) as { error: { code: string; relayCode: string } };
    expect(err.error).toMatchObject({ code: 'RequestHeaderFieldsTooLarge', relayCode: 'RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE' });
    expect(changes).toEqual([]);
    expect(agent.channels.map((c) => c.state)).toEqual(['READY']);
  }, 120_000);

  it('SOAP: a flooded SOAP call gets a SOAP fault (Relaybridge-Status 431); good SOAP calls pass', async () => {
    const relay = await h.relay({ entities: [{ path: 'soapflood', requiresClientAuthorization: false }] });
    const service = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.end('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><OkResponse xmlns="urn:t"/></s:Body></s:Envelope>');
      });
    });
    const agent = await h.agent(relay, [{ path: 'soapflood', target: { type: 'http', url: service.url, soapVersion: '1.1' } }]);
    await agent.whenReady(20_000);
    const changes = transitions(agent);
    const envelope = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Ok xmlns="urn:t"/></s:Body></s:Envelope>';
    const soap = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:t/Ok"' };
    const f = flood(() => request(`${relay.url}/soapflood`, { method: 'POST', headers: { ...soap, ...FLOOD_HEADERS }, body: envelope }), 5);
    const good: SimpleResponse[] = [];
    for (let i = 0; i < 20; i++) good.push(await request(`${relay.url}/soapflood`, { method: 'POST', headers: soap, body: envelope }));
    const bad = await f.stop();

    expect(good.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(bad.length).toBeGreaterThan(0);
    for (const r of bad) {
      expect(r.status).toBe(500);
      expect(r.headers['relaybridge-status']).toBe('431');
      expect(r.headers['relaybridge-error']).toBe('RELAY_ERR_PROTOCOL_HEADERS_TOO_LARGE');
      expect(r.body.toString()).toMatch(/Fault/);
    }
    expect(changes).toEqual([]);
  }, 120_000);

  it('WebSocket senders: 300-header connects get 431, good senders echo, the listener never reconnects', async () => {
    // Each refused connect is a failed handshake; the failed-handshake throttle (429 past 20/s from
    // one address, its own hostile test) is raised here so every flood connect shows its 431.
    const relay = await h.relay({ entities: [{ path: 'wsflood', requiresClientAuthorization: false }], limits: { maxFailedHandshakesPerSecond: 100_000 } });
    const echo = await h.tcpEcho();
    const agent = await h.agent(relay, [{ path: 'wsflood', target: { type: 'tcp', port: echo } }]);
    await agent.whenReady(20_000);
    const changes = transitions(agent);
    const url = `${relay.url.replace(/^http/, 'ws')}/$hc/wsflood?sb-hc-action=connect`;

    const f = flood(() => wsConnect(url, FLOOD_HEADERS), 5);
    let echoed = 0;
    for (let i = 0; i < 20; i++) {
      const { status, ws } = await wsConnect(url);
      expect(status).toBe(101);
      const reply = await new Promise<string>((resolve) => {
        ws!.once('message', (d) => resolve(d.toString()));
        ws!.send(`hello ${i}`);
      });
      if (reply === `hello ${i}`) echoed++;
      ws!.close();
    }
    const bad = await f.stop();

    expect(echoed).toBe(20);
    expect(bad.length).toBeGreaterThan(0);
    expect(new Set(bad.map((r) => r.status))).toEqual(new Set([431]));
    expect(changes).toEqual([]);
  }, 120_000);
});
