/**
 * Child-process roles for the benchmarks, so the load generator, the relay, the agent and the
 * service each get their own event loop, as they would on separate machines:
 *   node dist/bench/roles.js service            → prints {"url":…}   (HTTP echo)
 *   node dist/bench/roles.js origin             → prints {"url":…}   (GET: 18 bytes; POST: echo; POST …/sink: counted, dropped)
 *   node dist/bench/roles.js soap-service       → prints {"url":…}   (node-soap calculator)
 *   node dist/bench/roles.js relay              → prints {"url":…}
 *   node dist/bench/roles.js agent RELAY SERVICE → prints {"ready":true}
 *   node dist/bench/roles.js agent-module RELAY  → prints {"ready":true} (path bench-module: the calculator in the agent, `module` target)
 *   node dist/bench/roles.js soap-echo          → prints {"url":…}   (SOAP 1.1 and 1.2 Echo, answers in the caller's version)
 *   node dist/bench/roles.js cluster-relay NATS NODE → prints {"url":…} (a node of a NATS-backed namespace, path bench)
 *   node dist/bench/roles.js nats-hop NATS echo|call → prints {"ready":true} (bench:cluster's NATS hop floor)
 *   node dist/bench/roles.js nettcp-relay       → prints {"url":…,"netTcp":…}
 *   node dist/bench/roles.js nettcp-agent RELAY SERVICE → prints {"ready":true} (paths bench11 and bench12)
 *   node dist/bench/roles.js hostile-relay [TARPIT_MS] → prints {"url":…,"netTcp":…} (path bench, default limits)
 *   node dist/bench/roles.js attackers RELAY NETTCP COUNT RECONNECT_MS [KINDS] → prints {"started":N}, then {"open":n} each second
 *   node dist/bench/roles.js victims RELAY TOKEN SECONDS → prints the victims' latencies when done
 *   node dist/bench/roles.js nettcp-service     → prints {"url":…} (net.tcp://…: a sessionful net.tcp Echo service)
 *   node dist/bench/roles.js nettcp-session-agent RELAY NETTCP → prints {"ready":true} (paths bench-session, bench-session-text, bench-shared, bench-shared-text)
 *   node dist/bench/roles.js floor-relay        → prints {"url":…} (bench/floor.ts: Node HTTP → ws, no features)
 *   node dist/bench/roles.js floor-agent RELAY ORIGIN → prints {"ready":true} (ws → undici, no features)
 *   node dist/bench/roles.js floor-nettcp-relay → prints {"url":…,"netTcp":…} (bench/floor.ts: net.tcp sessions, framing only, a ws each)
 *   node dist/bench/roles.js floor-nettcp-agent RELAY NETTCP → prints {"ready":true} (ws → the net.tcp service, payloads untouched)
 *   node dist/bench/roles.js ws-listener RELAY  → prints {"ready":true} (hyco-ws echo listener on path bench-ws)
 *   node dist/bench/roles.js ws-senders RELAY COUNT → prints {"held":n,"echoed":n} once COUNT senders hold open
 *   node dist/bench/roles.js holders URL COUNT HEADERS_JSON → prints {"held":n} once COUNT keep-alive connections hold open
 *   node dist/bench/roles.js forwarder TARGET   → prints {"url":…} (a TCP byte forwarder to TARGET's
 *                                                 host:port: the cheapest possible hop, for a floor)
 * Each exits when its stdin closes, and answers a `gc` line on stdin with a full collection.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import fs from 'node:fs';
import * as soap from 'soap';
import { createAgent } from '../src/agent/agent';
import { service as calculator, wsdl as calculatorWsdl } from '../samples/calculator/service';
import { createRelayServer } from '../src/relay/relay-server';

/** The ws 1.x socket hyco-ws hands its listener. */
interface LegacyWs {
  on(e: 'message', f: (data: unknown, flags?: { binary?: boolean }) => void): void;
  on(e: 'error', f: () => void): void;
  send(data: unknown, opts?: { binary: boolean }): void;
}

export const BENCH_KEY_NAME = 'bench';
export const BENCH_KEY = 'YmVuY2gta2V5LW5vdC1zZWNyZXQ=';

async function main(): Promise<void> {
  const [role, a, b] = process.argv.slice(2);
  process.stdin.on('end', () => process.exit(0));
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  // `gc` on stdin: a full collection (roles run with --expose-gc), answered {"gc":true}, so a
  // memory figure leaves out the garbage of the calls that came before it.
  process.stdin.on('data', (d: Buffer) => {
    if (!d.toString().includes('gc\n')) return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    say({ gc: gc !== undefined });
  });
  if (role === 'service') {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('Content-Type', req.headers['content-type'] ?? 'application/octet-stream');
        res.end(Buffer.concat(chunks));
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    say({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  } else if (role === 'origin') {
    // The origin of bench:peers: an 18-byte answer to a GET, a POST echoed; keep-alive.
    const hello = Buffer.from('hello from origin\n');
    const server = http.createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': hello.length });
        res.end(hello);
        return;
      }
      if (req.url?.endsWith('/sink')) {
        // A streamed body, counted and dropped: the answer says how many bytes arrived.
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => {
          const body = Buffer.from(JSON.stringify({ bytes }));
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
          res.end(body);
        });
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
        res.end(body);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    say({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  } else if (role === 'soap-service') {
    const server = http.createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    server.keepAliveTimeout = 60_000;
    soap.listen(server, '/calc', calculator, fs.readFileSync(calculatorWsdl, 'utf8'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    say({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/calc` });
  } else if (role === 'relay') {
    const relay = createRelayServer({
      port: 0,
      host: '127.0.0.1',
      metrics: false,
      namespaceRules: [{ keyName: BENCH_KEY_NAME, primaryKey: BENCH_KEY, rights: ['Manage', 'Listen', 'Send'] }],
      entities: [
        { path: 'bench', requiresClientAuthorization: true },
        { path: 'bench-module', requiresClientAuthorization: true },
        { path: 'bench-ws', requiresClientAuthorization: true },
      ],
    });
    const { url } = await relay.listen();
    say({ url });
  } else if (role === 'agent') {
    const agent = createAgent({ relayUrl: a!, keyName: BENCH_KEY_NAME, key: BENCH_KEY, services: [{ path: 'bench', target: { type: 'http', url: b! } }] });
    agent.start();
    await agent.whenReady();
    say({ ready: true });
  } else if (role === 'agent-module') {
    // The same calculator service hosted inside the agent (`module` target): no HTTP hop to it.
    const agent = createAgent({
      relayUrl: a!,
      keyName: BENCH_KEY_NAME,
      key: BENCH_KEY,
      services: [{ path: 'bench-module', target: { type: 'module', module: require.resolve('../samples/calculator/service') } }],
    });
    agent.start();
    await agent.whenReady();
    say({ ready: true });
  } else if (role === 'soap-echo') {
    const { soapEchoHandler } = await import('./net-tcp');
    const server = http.createServer(soapEchoHandler);
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    say({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/echo` });
  } else if (role === 'hostile-relay') {
    // The relay as `relaybridge relay` runs it (default limits), with net.tcp, for bench:hostile.
    const relay = createRelayServer({
      port: 0,
      host: '127.0.0.1',
      metrics: false,
      netTcp: { port: 0, host: '127.0.0.1' },
      namespaceRules: [{ keyName: BENCH_KEY_NAME, primaryKey: BENCH_KEY, rights: ['Manage', 'Listen', 'Send'] }],
      entities: [{ path: 'bench', requiresClientAuthorization: true }],
      // An A/B of the tarpit: `hostile-relay 0` turns it off.
      ...(a !== undefined ? { limits: { tarpitMs: Number(a) } } : {}),
    });
    const { url } = await relay.listen();
    say({ url, netTcp: relay.netTcp!.url });
  } else if (role === 'attackers') {
    const { runAttackers } = await import('./hostile');
    await runAttackers(a!, b!, Number(process.argv[5]), Number(process.argv[6]), process.argv[7]?.split(',') as Parameters<typeof runAttackers>[4]);
  } else if (role === 'victims') {
    const { runVictims } = await import('./hostile');
    say(await runVictims(a!, b!, Number(process.argv[5])));
  } else if (role === 'cluster-relay') {
    // One node of a NATS-backed namespace (bench:cluster): `cluster-relay NATS_URL NODE_ID`.
    const { NatsStore } = await import('../src/store/nats-store');
    const relay = createRelayServer({
      port: 0,
      host: '127.0.0.1',
      metrics: false,
      nodeId: b!,
      store: new NatsStore({ servers: [a!], bucket: 'bench' }),
      namespaceRules: [{ keyName: BENCH_KEY_NAME, primaryKey: BENCH_KEY, rights: ['Manage', 'Listen', 'Send'] }],
      entities: [{ path: 'bench', requiresClientAuthorization: true }],
    });
    const { url } = await relay.listen();
    say({ url });
  } else if (role === 'nettcp-relay') {
    const relay = createRelayServer({
      port: 0,
      host: '127.0.0.1',
      metrics: false,
      netTcp: { port: 0, host: '127.0.0.1' },
      namespaceRules: [{ keyName: BENCH_KEY_NAME, primaryKey: BENCH_KEY, rights: ['Manage', 'Listen', 'Send'] }],
      entities: [
        { path: 'bench11', requiresClientAuthorization: true },
        { path: 'bench12', requiresClientAuthorization: false },
        { path: 'bench-session', requiresClientAuthorization: false },
        { path: 'bench-session-text', requiresClientAuthorization: false },
        { path: 'bench-shared', requiresClientAuthorization: false },
        { path: 'bench-shared-text', requiresClientAuthorization: false },
      ],
    });
    const { url } = await relay.listen();
    say({ url, netTcp: relay.netTcp!.url });
  } else if (role === 'nettcp-agent') {
    const agent = createAgent({
      relayUrl: a!,
      keyName: BENCH_KEY_NAME,
      key: BENCH_KEY,
      services: [
        { path: 'bench11', target: { type: 'http', url: b!, soapVersion: '1.1' } },
        { path: 'bench12', target: { type: 'http', url: b!, soapVersion: '1.2' } },
      ],
    });
    agent.start();
    await agent.whenReady();
    say({ ready: true });
  } else if (role === 'nettcp-service') {
    // A sessionful net.tcp service from our codecs (the integration tests' one): Echo, per-session state.
    const { sessionService } = await import('../test/helpers/net-tcp-service');
    const { url } = await sessionService({ defer: () => undefined });
    say({ url });
  } else if (role === 'nettcp-session-agent') {
    // A `nettcp` target twice: sessions of their own (the default) and a shared pool (shareSessions).
    const agent = createAgent({
      relayUrl: a!,
      keyName: BENCH_KEY_NAME,
      key: BENCH_KEY,
      services: [
        { path: 'bench-session', target: { type: 'nettcp', url: b! } },
        { path: 'bench-session-text', target: { type: 'nettcp', url: b!, carrier: 'text' } },
        { path: 'bench-shared', target: { type: 'nettcp', url: b!, shareSessions: true, maxSessions: 32 } },
        { path: 'bench-shared-text', target: { type: 'nettcp', url: b!, shareSessions: true, maxSessions: 32, carrier: 'text' } },
      ],
    });
    agent.start();
    await agent.whenReady();
    say({ ready: true });
  } else if (role === 'forwarder') {
    const target = new URL(a!);
    const server = net.createServer((inbound) => {
      const outbound = net.connect(Number(target.port), target.hostname);
      inbound.setNoDelay(true);
      outbound.setNoDelay(true);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    say({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}` });
  } else if (role === 'floor-relay') {
    const { floorRelay } = await import('./floor');
    say({ url: await floorRelay() });
  } else if (role === 'floor-agent') {
    const { floorAgent } = await import('./floor');
    await floorAgent(a!, b!);
    say({ ready: true });
  } else if (role === 'floor-nettcp-relay') {
    const { floorNetTcpRelay } = await import('./floor');
    say(await floorNetTcpRelay());
  } else if (role === 'floor-nettcp-agent') {
    const { floorNetTcpAgent } = await import('./floor');
    await floorNetTcpAgent(a!, b!);
    say({ ready: true });
  } else if (role === 'nats-hop') {
    // `nats-hop NATS echo|call`: one side of bench:cluster's NATS hop floor.
    const { natsHop } = await import('./cluster');
    await natsHop(a!, b!, say);
  } else if (role === 'ws-listener') {
    // Microsoft's hyco-ws as the listener of path bench-ws: echoes every message of every sender.
    const hycoWs = require('hyco-ws');
    const uri = `${a!.replace(/^http/, 'ws')}/$hc/bench-ws?sb-hc-action=listen`;
    const server = hycoWs.createRelayedServer({ server: uri, token: () => hycoWs.createRelayToken(uri, BENCH_KEY_NAME, BENCH_KEY) }, (ws: LegacyWs) => {
      ws.on('message', (data: unknown, flags?: { binary?: boolean }) => ws.send(data, { binary: !!flags?.binary }));
      ws.on('error', () => undefined);
    });
    server.on('error', () => undefined);
    server.on('listening', () => say({ ready: true }));
  } else if (role === 'ws-senders') {
    // `ws-senders RELAY COUNT`: COUNT WebSocket senders on path bench-ws (100 dialling at a time),
    // each sends one message and waits for its echo, then stays open: prints {"held":n,"echoed":n}.
    const { holdWsSenders } = await import('./scale');
    say(await holdWsSenders(a!, Number(b)));
  } else if (role === 'holders') {
    // `holders URL COUNT HEADERS_JSON`: COUNT keep-alive connections, one GET answered on each, held.
    const { holdKeepAlive } = await import('./scale');
    say(await holdKeepAlive(a!, Number(b), JSON.parse(process.argv[5] ?? '{}') as Record<string, string>));
  } else throw new Error(`unknown role ${role}`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
