/**
 * Cross-node routing on a real nats-server: senders of every kind on node A (and C) reach
 * listeners connected to node B; the listener dials A's rendezvous addresses (payload never
 * passes through B); a small response comes back over NATS. Random spread over every listener
 * on every node; a node that goes away takes its listeners out of every router at once.
 */
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import type { RelayServer } from '../../src/relay/relay-server';
import { NatsStore } from '../../src/store/nats-store';
import { Harness, request, ROOT_KEY, ROOT_KEY_NAME, token, waitFor } from '../helpers/harness';

const hycoHttps = require('hyco-https');
const hycoWs = require('hyco-ws');
import { KnownEncoding, Mode } from '../../src/protocol/nmf';
import { NetTcpClient, requestEnvelope } from '../helpers/net-tcp-client';
import { SESSION_NS, sessionAction, sessionService, textOf } from '../helpers/net-tcp-service';
import { natsDescribe, startNats, type NatsServer } from '../helpers/nats';

natsDescribe('cluster-routing')('cross-node routing: senders on one node, listeners on another', () => {
  const h = new Harness();
  let nats: NatsServer;
  let a: RelayServer;
  let b: RelayServer;
  let c: RelayServer;
  const entities = [
    { path: 'echo', requiresClientAuthorization: false },
    { path: 'tcp', requiresClientAuthorization: false },
    { path: 'sessions', requiresClientAuthorization: false },
    { path: 'spread', requiresClientAuthorization: false },
    { path: 'leaving', requiresClientAuthorization: false },
    { path: 'stuck', requiresClientAuthorization: false },
    { path: 'rehome', requiresClientAuthorization: false },
    { path: 'drain', requiresClientAuthorization: false },
    { path: 'misrouted', requiresClientAuthorization: false },
    { path: 'misroutedws', requiresClientAuthorization: false },
    { path: 'large', requiresClientAuthorization: false },
    { path: 'events', requiresClientAuthorization: false, broadcast: true },
    { path: 'quiet', requiresClientAuthorization: false, broadcast: true },
    { path: 'hyco', requiresClientAuthorization: true },
    { path: 'hycows', requiresClientAuthorization: true },
    { path: 'soap', requiresClientAuthorization: false },
  ];
  /** SOAPAction headers the SOAP service behind B saw. */
  const soapActions: string[] = [];
  const node = (nodeId: string, extra: { publicUrl?: string } = {}) =>
    h.relay({ nodeId, entities, netTcp: { port: 0, host: '127.0.0.1' }, store: new NatsStore({ servers: [nats.url], bucket: 'routing', timeoutMs: 2000 }), ...extra });
  /** Each node knows the listeners on the others. */
  const converged = (relays: RelayServer[], path: string, n: number) =>
    waitFor(() => relays.every((r) => r.router.registry.count(path) === n), 5000, `${n} listeners of ${path} on every node`);

  beforeAll(async () => {
    nats = await startNats();
    h.defer(() => nats.destroy());
    a = await node('node-a');
    b = await node('node-b');
    c = await node('node-c');
    const svc = await h.httpService();
    const echoPort = await h.tcpEcho();
    const session = await sessionService(h);
    const soapSvc = await h.httpService((req, res) => {
      soapActions.push(String(req.headers.soapaction));
      req.resume();
      req.on('end', () => {
        // Answers in the SOAP version it was called with.
        const soap12 = /application\/soap\+xml/.test(String(req.headers['content-type']));
        if (soap12) soapActions.push(String(/action="([^"]*)"/.exec(String(req.headers['content-type']))?.[1]));
        res.setHeader('Content-Type', soap12 ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8');
        const ns = soap12 ? 'http://www.w3.org/2003/05/soap-envelope' : 'http://schemas.xmlsoap.org/soap/envelope/';
        res.end(`<s:Envelope xmlns:s="${ns}"><s:Body><AddResponse xmlns="urn:calc"><AddResult>3</AddResult></AddResponse></s:Body></s:Envelope>`);
      });
    });
    const agent = await h.agent(b, [
      { path: 'soap', target: { type: 'http', url: `${soapSvc.url}/Calc.svc` } },
      { path: 'echo', target: { type: 'http', url: svc.url } },
      { path: 'tcp', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
      { path: 'sessions', target: { type: 'nettcp', url: session.url } },
    ]);
    await agent.whenReady();
    await converged([a, b, c], 'echo', 1);
    await converged([a, b, c], 'sessions', 1);
  });
  afterAll(() => h.close());

  it('HTTP: a small request on A and C is answered by the listener on B (response back over NATS); > 64 KiB and chunked go by rendezvous at the sender’s node', async () => {
    for (const relay of [a, c]) {
      const small = await request(`${relay.url}/echo/small`, { method: 'POST', body: 'hello' });
      expect(small.status).toBe(200);
      expect(JSON.parse(small.body.toString())).toMatchObject({ method: 'POST', url: '/small', bodyLength: 5 });
    }
    const big = Buffer.alloc(200 * 1024, 'x');
    const res = await request(`${a.url}/echo/big`, { method: 'POST', body: big });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).bodyLength).toBe(big.length);
    const chunked = await request(`${c.url}/echo/chunked`, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' }, body: 'abc' });
    expect(JSON.parse(chunked.body.toString()).bodyLength).toBe(3);
  });

  it("Microsoft's listeners on B (hyco-https, hyco-ws) answer senders on A: HTTP small and over 64 KiB, and a WebSocket echo", async () => {
    const base = b.url.replace(/^http/, 'ws');
    const httpsUri = `${base}/$hc/hyco?sb-hc-action=listen`;
    const https = hycoHttps.createRelayedServer({ server: httpsUri, token: () => hycoHttps.createRelayToken(httpsUri, ROOT_KEY_NAME, ROOT_KEY) }, (req: http.IncomingMessage, res: http.ServerResponse) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`hyco-https got ${n} bytes`));
    });
    https.on('error', () => undefined);
    https.listen();
    h.defer(() => https.close());
    const wsUri = `${base}/$hc/hycows?sb-hc-action=listen`;
    const wsServer = hycoWs.createRelayedServer({ server: wsUri, token: () => hycoWs.createRelayToken(wsUri, ROOT_KEY_NAME, ROOT_KEY) }, (ws: { on(e: string, f: (...a: unknown[]) => void): void; send(d: unknown): void }) => {
      ws.on('message', (d: unknown) => ws.send(d));
      ws.on('error', () => undefined);
    });
    wsServer.on('error', () => undefined);
    h.defer(() => wsServer.close());
    await converged([a], 'hyco', 1);
    await converged([a], 'hycows', 1);
    const auth = (p: string) => ({ ServiceBusAuthorization: hycoHttps.createRelayToken(`${a.url}/${p}`, ROOT_KEY_NAME, ROOT_KEY) });
    expect((await request(`${a.url}/hyco/x`, { method: 'POST', headers: auth('hyco'), body: 'hello' })).body.toString()).toBe('hyco-https got 5 bytes');
    const big = Buffer.alloc(100 * 1024, 'y');
    expect((await request(`${a.url}/hyco/x`, { method: 'POST', headers: auth('hyco'), body: big })).body.toString()).toBe(`hyco-https got ${big.length} bytes`);
    const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}/$hc/hycows?sb-hc-action=connect`, { headers: auth('hycows') });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('to hyco-ws on another node');
    expect(await echoed).toBe('to hyco-ws on another node');
    ws.close();
  });

  it('SOAP 1.1 on C to a SOAP service behind B', async () => {
    const reply = await request(`${c.url}/soap`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:calc/Add"' },
      body: '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Add xmlns="urn:calc"><a>1</a><b>2</b></Add></s:Body></s:Envelope>',
    });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toContain('<AddResult>3</AddResult>');
    expect(soapActions).toContain('"urn:calc/Add"');
  });

  it('SOAP 1.2 on A to a SOAP service behind B', async () => {
    const reply = await request(`${a.url}/soap`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/soap+xml; charset=utf-8; action="urn:calc/Add12"' },
      body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><Add xmlns="urn:calc"><a>1</a><b>2</b></Add></s:Body></s:Envelope>',
    });
    expect(reply.status).toBe(200);
    expect(String(reply.headers['content-type'])).toMatch(/application\/soap\+xml/);
    expect(reply.body.toString()).toContain('<AddResult>3</AddResult>');
    expect(soapActions).toContain('urn:calc/Add12');
  });

  it('WebSocket: a sender on A talks to the TCP target behind B', async () => {
    const ws = new WebSocket(`${a.url.replace(/^http/, 'ws')}/$hc/tcp?sb-hc-action=connect&sb-hc-token=${encodeURIComponent(token(a, 'tcp'))}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send(Buffer.from('ping through two nodes'));
    expect(await echoed).toBe('ping through two nodes');
    ws.close();
  });

  it('net.tcp: a session on A is carried to the service behind B, its own service session', async () => {
    const client = await NetTcpClient.connect({ port: a.netTcp!.port });
    try {
      await client.open(`${a.netTcp!.url}/sessions`);
      const inc = () => client.request(sessionAction('Increment'), `<Increment xmlns="${SESSION_NS}"/>`).then((x) => Number(textOf(x, 'IncrementResult')));
      expect([await inc(), await inc(), await inc()]).toEqual([1, 2, 3]);
    } finally {
      client.destroy();
    }
  });

  it('net.tcp streamed: a call on A to the nettcp target behind B travels as binary XML across nodes too', async () => {
    const remote = a.router.registry.list('sessions').find((l) => l.remote);
    expect(remote?.soapBinary).toBe(true);
    const client = await NetTcpClient.connect({ port: a.netTcp!.port, mode: Mode.SingletonUnsized });
    try {
      const via = `${a.netTcp!.url}/sessions`;
      await client.open(via, { mode: Mode.SingletonUnsized, encoding: KnownEncoding.Soap12Binary });
      const reply = await client.streamed(requestEnvelope({ action: sessionAction('Echo'), to: via, body: `<Echo xmlns="${SESSION_NS}"><text>across</text></Echo>`, messageId: 'urn:uuid:5e5e5e5e-0000-0000-0000-000000000001' }));
      expect(textOf(reply!, 'EchoResult')).toBe('across');
    } finally {
      client.destroy();
    }
  });

  it('spreads calls over every listener of the path on every node', async () => {
    const seen = new Set<string>();
    const svc = (name: string) =>
      h.httpService((_req, res) => {
        res.end(name);
      });
    const [s1, s2] = [await svc('on-a'), await svc('on-b')];
    const onA = await h.agent(a, [{ path: 'spread', target: { type: 'http', url: s1.url } }]);
    const onB = await h.agent(b, [{ path: 'spread', target: { type: 'http', url: s2.url } }]);
    await Promise.all([onA.whenReady(), onB.whenReady()]);
    await converged([a, b, c], 'spread', 2);
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await request(`${c.url}/spread/x`)).body.toString());
    expect([...seen].sort()).toEqual(['on-a', 'on-b']);
    // The listeners gauge is namespace-wide: node C, with none of its own, counts both.
    expect(await c.metrics.registry.getSingleMetricAsString('relaybridge_listeners')).toContain('relaybridge_listeners{path="spread"} 2');
    // So are /$status and /$health (with a Manage token): every node, and what each holds.
    const manage = { Authorization: token(c, '') };
    const status = (await request(`${c.url}/$status`, { headers: manage })).body.toString();
    // Both listeners of the path, each with the node holding it.
    expect(status).toMatch(/data-path="spread"><td>spread<\/td><td class="listeners">(<div class="listener">[^<]*<\/div>){2}<\/td>/);
    const model = JSON.parse((await request(`${c.url}/$status?format=json`, { headers: manage })).body.toString());
    const spread = model.paths.find((p: { path: string }) => p.path === 'spread');
    expect(spread.listeners.map((l: { node: string }) => l.node).sort()).toEqual(['node-a', 'node-b']);
    for (const cell of ['<td>node-a</td>', '<td>node-b</td>', '<td>node-c (this node)</td><td>0</td><td>serving</td>']) expect(status).toContain(cell);
    const health = JSON.parse((await request(`${c.url}/$health`, { headers: manage })).body.toString());
    expect(health).toMatchObject({ status: 'ok', nodeId: 'node-c', listeners: 0 });
    expect(health.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(expect.arrayContaining(['node-a', 'node-b', 'node-c']));
  });

  it('a node that leaves takes its listeners out of the others at once: a call gets 502 no listener, never a hang', async () => {
    const gone = await node('node-d');
    const svc = await h.httpService();
    const agent = await h.agent(gone, [{ path: 'leaving', target: { type: 'http', url: svc.url } }], { reconnect: { initialMs: 60_000, maxMs: 60_000, multiplier: 1, jitter: 0 } });
    await agent.whenReady();
    await converged([a, gone], 'leaving', 1);
    expect((await request(`${a.url}/leaving/x`)).status).toBe(200);
    await gone.close();
    await converged([a], 'leaving', 0);
    const started = Date.now();
    const res = await request(`${a.url}/leaving/x`);
    expect(res.status).toBe(502);
    expect(res.headers['x-relaybridge-error'] ?? res.body.toString()).toMatch(/RELAY_ERR_NO_LISTENER/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a node cut off (killed, partitioned) mid-call: the call waiting on its listener fails within seconds, never waits out its timeout', async () => {
    const cut = await node('node-e');
    // A service that never answers.
    const svc = await h.httpService(() => undefined);
    const agent = await h.agent(cut, [{ path: 'stuck', target: { type: 'http', url: svc.url } }], { reconnect: { initialMs: 60_000, maxMs: 60_000, multiplier: 1, jitter: 0 } });
    await agent.whenReady();
    await converged([a], 'stuck', 1);
    const started = Date.now();
    const call = request(`${a.url}/stuck/x`, { method: 'POST', body: 'x' });
    await new Promise((r) => setTimeout(r, 300));
    // The node stops being heard (its NATS connection drops, as a killed process's would).
    await (cut.store as NatsStore).nc!.close();
    const res = await call;
    expect(res.status).toBe(502);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('a node that goes away: its agents re-home to another node (relayUrls) and calls succeed again', async () => {
    const doomed = await node('node-f');
    const svc = await h.httpService((_req, res) => res.end('served'));
    const agent = await h.agent(doomed, [{ path: 'rehome', target: { type: 'http', url: svc.url } }], {
      relayUrls: [a.url],
      reconnect: { initialMs: 50, maxMs: 200, multiplier: 1.5, jitter: 0 },
    });
    await agent.whenReady();
    await converged([c], 'rehome', 1);
    expect((await request(`${c.url}/rehome/x`)).body.toString()).toBe('served');
    await doomed.close();
    // Re-homed to A: the listener is A's own now, and C routes to it there.
    await waitFor(() => a.router.registry.list('rehome').some((l) => !l.remote), 10_000, 'the listener on node A');
    await converged([c], 'rehome', 1);
    expect((await request(`${c.url}/rehome/x`)).body.toString()).toBe('served');
  }, 20_000);

  it('drain (SIGTERM): the node finishes the calls in flight on its listener, takes no new listener, and its listener re-homes', async () => {
    const draining = await node('node-g');
    const svc = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.end(`done ${req.url}`), req.url?.includes('slow') ? 1500 : 0));
    });
    const agent = await h.agent(draining, [{ path: 'drain', target: { type: 'http', url: svc.url } }], {
      relayUrls: [a.url],
      reconnect: { initialMs: 50, maxMs: 200, multiplier: 1.5, jitter: 0 },
    });
    await agent.whenReady();
    await converged([a, c], 'drain', 1);
    // Two calls in flight on the listener at node G: one sent to G itself, one from A across nodes.
    const local = request(`${draining.url}/drain/slow-local`, { method: 'POST', body: 'x' });
    const crossNode = request(`${a.url}/drain/slow-cross`, { method: 'POST', body: 'x' });
    await waitFor(() => draining.router.registry.list('drain').some((l) => l.pending.size > 0), 3000, 'the calls in flight');
    await new Promise((r) => setTimeout(r, 200));
    const stopped = draining.drain(10_000);

    // A load balancer sees the node going: /$health answers 503.
    const health = await request(`${draining.url}/$health`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body.toString())).toEqual({ status: 'draining' });
    // No new listener: 503 RELAY_ERR_DRAINING before any 101.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${draining.url.replace('http', 'ws')}/$hc/drain?sb-hc-action=listen&sb-hc-token=${encodeURIComponent(token(draining, 'drain'))}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(503);

    // The calls in flight finish, with the service's answer.
    const [l, x] = await Promise.all([local, crossNode]);
    expect([l.status, l.body.toString()]).toEqual([200, 'done /slow-local']);
    expect([x.status, x.body.toString()]).toEqual([200, 'done /slow-cross']);
    await stopped;
    // The listener was closed with 1001 and dialled the next node: calls on C succeed again.
    await waitFor(() => a.router.registry.list('drain').some((r) => !r.remote), 10_000, 'the listener re-homed to node A');
    await converged([c], 'drain', 1);
    const after = await request(`${c.url}/drain/after`, { method: 'POST', body: 'x' });
    expect([after.status, after.body.toString()]).toEqual([200, 'done /after']);
  }, 30_000);

  it('a rendezvous a load balancer sends to the wrong node is passed on to the node that minted it', async () => {
    // A load balancer in front of the nodes that sends every connection to node C.
    let connections = 0;
    const cPort = Number(new URL(c.url).port);
    const lb = net.createServer((down) => {
      connections++;
      const up = net.connect(cPort, '127.0.0.1');
      down.pipe(up).pipe(down);
      down.on('error', () => up.destroy());
      up.on('error', () => down.destroy());
    });
    await new Promise<void>((r) => lb.listen(0, '127.0.0.1', () => r()));
    h.defer(() => new Promise<void>((r) => lb.close(() => r())));
    const lbUrl = `http://127.0.0.1:${(lb.address() as net.AddressInfo).port}`;
    // Node M advertises the load balancer's address, so its rendezvous addresses reach node C.
    const m = await node('node-m', { publicUrl: lbUrl });
    const svc = await h.httpService((req, res) => req.pipe(res));
    const echoPort = await h.tcpEcho();
    const agent = await h.agent(b, [
      { path: 'misrouted', target: { type: 'http', url: svc.url } },
      { path: 'misroutedws', target: { type: 'tcp', host: '127.0.0.1', port: echoPort } },
    ]);
    await agent.whenReady();
    await converged([m], 'misrouted', 1);

    // Over 64 KiB: the listener on B dials M's rendezvous address, which the load balancer sends to C.
    const big = Buffer.alloc(200 * 1024, 'm');
    const res = await request(`${m.url}/misrouted/x`, { method: 'POST', body: big });
    expect(res.status).toBe(200);
    expect(Buffer.compare(res.body, big)).toBe(0);
    expect(connections).toBe(1);

    // A WebSocket sender on M: the listener's accept rendezvous goes the same way.
    await converged([m], 'misroutedws', 1);
    const ws = new WebSocket(`${m.url.replace(/^http/, 'ws')}/$hc/misroutedws?sb-hc-action=connect`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send(Buffer.from('through the wrong node'));
    expect(await echoed).toBe('through the wrong node');
    ws.close();
    expect(connections).toBe(2);
  }, 20_000);

  it('a response larger than a NATS message (1 MiB on the listener’s control channel at B) reaches A in fragments', async () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const svc = await h.httpService((req, res) => {
      req.resume();
      res.end(payload);
    });
    const agent = await h.agent(b, [{ path: 'large', target: { type: 'http', url: svc.url } }]);
    await agent.whenReady();
    await converged([a], 'large', 1);
    for (let i = 0; i < 3; i++) {
      const res = await request(`${a.url}/large/x`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(payload.length);
      expect(Buffer.compare(res.body, payload)).toBe(0);
    }
  }, 20_000);

  it('a broadcast entity delivers each message to every listener on every node (our agent, hyco-https), answered 202', async () => {
    const got: Record<string, string[]> = { a: [], b: [], hyco: [] };
    const collector = (name: string) =>
      h.httpService((req, res) => {
        // (our agent asks a SOAP target for its WSDL once: this one has none)
        if (req.url?.includes('?wsdl')) return void res.writeHead(404).end();
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          got[name]!.push(`${req.method} ${req.url} ${text}`);
          res.end('ignored');
        });
      });
    const onA = await h.agent(a, [{ path: 'events', target: { type: 'http', url: (await collector('a')).url } }]);
    const onB = await h.agent(b, [{ path: 'events', target: { type: 'http', url: (await collector('b')).url } }]);
    await Promise.all([onA.whenReady(), onB.whenReady()]);
    // Microsoft's listener on node B as well.
    const uri = `${b.url.replace(/^http/, 'ws')}/$hc/events?sb-hc-action=listen`;
    const hyco = hycoHttps.createRelayedServer({ server: uri, token: () => hycoHttps.createRelayToken(uri, ROOT_KEY_NAME, ROOT_KEY) }, (req: http.IncomingMessage, res: http.ServerResponse) => {
      // (the relay asks one listener for the WSDL of a basicHttp message's service: this one has none)
      if (req.url?.includes('?wsdl')) {
        res.statusCode = 404;
        return void res.end();
      }
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        got.hyco!.push(`${req.method} ${req.url} ${text}`);
        res.end();
      });
    });
    hyco.on('error', () => undefined);
    hyco.listen();
    h.defer(() => hyco.close());
    await converged([a, b, c], 'events', 3);

    // Sent on node C, which has no listener of its own.
    const sent = await request(`${c.url}/events/orders?n=1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"order":1}' });
    expect(sent.status).toBe(202);
    expect(sent.headers['x-relaybridge-listeners']).toBe('3');
    await waitFor(() => Object.values(got).every((g) => g.length === 1), 5000, 'every listener to get the message');
    // (hyco-https sees the request target as sent, with the entity path; our agent's target gets the rest)
    expect(got).toEqual({ a: ['POST /orders?n=1 {"order":1}'], b: ['POST /orders?n=1 {"order":1}'], hyco: ['POST /events/orders?n=1 {"order":1}'] });

    // A one-way SOAP message on node A: every listener gets the envelope.
    const envelope = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Shipped xmlns="urn:events"><id>7</id></Shipped></s:Body></s:Envelope>';
    const soap = await request(`${a.url}/events`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"urn:events/Shipped"' }, body: envelope });
    expect(soap.status).toBe(202);
    await waitFor(() => Object.values(got).every((g) => g.length === 2), 5000, 'every listener to get the SOAP message');
    for (const g of Object.values(got)) expect(g[1]).toContain('<id>7</id>');

    // Deliveries are counted per listener, on the node that holds it.
    expect(await a.metrics.registry.getSingleMetricAsString('relaybridge_broadcast_deliveries_total')).toMatch(/path="events",listener="[^"]+",result="delivered"\} 2/);
    expect(await b.metrics.registry.getSingleMetricAsString('relaybridge_broadcast_deliveries_total')).toMatch(/(path="events",listener="[^"]+",result="delivered"\} 2[\s\S]*){2}/);

    // A call that waits for an answer: a clear refusal, nothing delivered.
    const get = await request(`${c.url}/events/orders`);
    expect(get.status).toBe(405);
    expect(JSON.parse(get.body.toString()).error).toMatchObject({ relayCode: 'RELAY_ERR_BROADCAST_ONE_WAY', message: expect.stringMatching(/broadcast hybrid connection: it takes one-way messages/) });

    // Over the protocol's inline size: 413; no listener anywhere: 502.
    expect((await request(`${c.url}/events/x`, { method: 'POST', body: Buffer.alloc(65 * 1024) })).status).toBe(413);
    const none = await request(`${c.url}/quiet/x`, { method: 'POST', body: 'x' });
    expect(none.status).toBe(502);
    expect(none.body.toString()).toMatch(/RELAY_ERR_NO_LISTENER/);
  }, 20_000);
});
