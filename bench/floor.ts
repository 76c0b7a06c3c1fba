/**
 * The floor of a relay + agent built from the libraries relaybridge uses, with none of its
 * features: the relay's Node HTTP server puts each call on one `ws` WebSocket to the agent as a
 * JSON text frame (plus a binary frame for a body), the agent makes the call with an undici pool
 * and answers the same way. No authorization, no limits, no timeouts, no logging, no metrics,
 * no failover, no rendezvous: what is left is Node's HTTP server, two WebSocket ends and Node's
 * HTTP client. bench:peers measures it beside relaybridge so the README can say how much of
 * relaybridge's cost is its own work and how much is the platform's.
 *
 *   node dist/bench/roles.js floor-relay            → prints {"url":…}
 *   node dist/bench/roles.js floor-agent RELAY ORIGIN → prints {"ready":true}
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Pool } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { ClientDecoder, encodeEnd, encodePreamble, encodePreambleAck, encodeSizedEnvelope, KnownEncoding, Mode, ServerDecoder } from '../src/protocol/nmf';

interface FloorRequest {
  id: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: boolean;
}
interface FloorResponse {
  id: number;
  status: number;
  headers: Record<string, string | string[]>;
  body: boolean;
}

/** The floor relay: HTTP in, one WebSocket to the (single) floor agent. */
export async function floorRelay(): Promise<string> {
  let agent: WebSocket | undefined;
  let nextId = 1;
  const pending = new Map<number, ServerResponse>();
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!agent) {
        res.writeHead(502).end();
        return;
      }
      const id = nextId++;
      pending.set(id, res);
      const body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const head: FloorRequest = { id, method: req.method!, path: req.url!, headers: req.headers, body: body !== undefined };
      agent.send(JSON.stringify(head));
      if (body) agent.send(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    agent = ws;
    let awaiting: FloorResponse | undefined;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const head = JSON.parse(data.toString()) as FloorResponse;
        if (head.body) awaiting = head;
        else finish(head, undefined);
        return;
      }
      const head = awaiting!;
      awaiting = undefined;
      finish(head, data);
    });
  });
  const finish = (head: FloorResponse, body: Buffer | undefined) => {
    const res = pending.get(head.id);
    if (!res) return;
    pending.delete(head.id);
    res.writeHead(head.status, head.headers);
    res.end(body);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'upgrade']);

/** The floor agent: one WebSocket to the floor relay, each call made with an undici pool. */
export async function floorAgent(relayUrl: string, originUrl: string): Promise<void> {
  const pool = new Pool(originUrl, { connections: 64, pipelining: 1 });
  const ws = new WebSocket(relayUrl.replace(/^http/, 'ws'), { perMessageDeflate: false });
  let awaiting: FloorRequest | undefined;
  const call = async (head: FloorRequest, body: Buffer | undefined) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(head.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    const r = await pool.request({ method: head.method as 'GET', path: head.path, headers, body });
    const answer = Buffer.from(await r.body.arrayBuffer());
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
    const reply: FloorResponse = { id: head.id, status: r.statusCode, headers: out, body: answer.length > 0 };
    ws.send(JSON.stringify(reply));
    if (answer.length > 0) ws.send(answer);
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      const head = JSON.parse(data.toString()) as FloorRequest;
      if (head.body) awaiting = head;
      else void call(head, undefined);
      return;
    }
    const head = awaiting!;
    awaiting = undefined;
    void call(head, data);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

/**
 * The net.tcp floor relay: carried duplex sessions with nothing but the framing. A net.tcp
 * client's connection gets its Preamble Ack at once; the relay asks the floor agent (on one
 * control WebSocket) for a WebSocket of the session's own, as relaybridge carries a session, and
 * passes each Sized Envelope's payload onto it as one binary message, untouched (the client's
 * session strings and its `To` go to the service as they are), and each message back into a
 * Sized Envelope. No authorization, no addressing read, no access line, no limits: what is left
 * is the NMF framing, two `ws` ends per session and the sockets.
 *
 *   node dist/bench/roles.js floor-nettcp-relay            → prints {"url":…,"netTcp":…}
 *   node dist/bench/roles.js floor-nettcp-agent RELAY SERVICE → prints {"ready":true}
 */
export async function floorNetTcpRelay(): Promise<{ url: string; netTcp: string }> {
  let control: WebSocket | undefined;
  let nextId = 1;
  const sessions = new Map<number, { socket: net.Socket; ws?: WebSocket; queue: Buffer[] }>();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const id = /^\/session\/(\d+)$/.exec(req.url ?? '')?.[1];
    if (id === undefined) {
      control = ws;
      return;
    }
    const session = sessions.get(Number(id));
    if (!session) return ws.close();
    session.ws = ws;
    for (const payload of session.queue.splice(0)) ws.send(payload);
    ws.on('message', (data: Buffer) => writeParts(session.socket, encodeSizedEnvelope(data)));
    ws.on('close', () => session.socket.destroy());
  });
  const tcp = net.createServer((socket) => {
    const id = nextId++;
    const session: { socket: net.Socket; ws?: WebSocket; queue: Buffer[] } = { socket, queue: [] };
    sessions.set(id, session);
    socket.setNoDelay(true);
    const decoder = new ServerDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === 'preambleEnd') {
          socket.write(encodePreambleAck());
          control?.send(String(id));
        } else if (f.type === 'envelope') {
          if (session.ws) session.ws.send(f.payload);
          else session.queue.push(f.payload);
        } else if (f.type === 'end') {
          socket.end(encodeEnd());
        }
      }
    });
    const gone = () => {
      sessions.delete(id);
      session.ws?.close();
    };
    socket.on('error', gone);
    socket.on('close', gone);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, netTcp: `net.tcp://127.0.0.1:${(tcp.address() as AddressInfo).port}` };
}

/** The floor agent for net.tcp: per session asked for, a WebSocket to the relay and a net.tcp session to the service, payloads passed both ways. */
export async function floorNetTcpAgent(relayUrl: string, serviceVia: string): Promise<void> {
  const base = relayUrl.replace(/^http/, 'ws');
  const service = new URL(serviceVia.replace(/^net\.tcp:/, 'http:'));
  const control = new WebSocket(`${base}/control`, { perMessageDeflate: false });
  control.on('message', (data: Buffer) => {
    const ws = new WebSocket(`${base}/session/${data.toString()}`, { perMessageDeflate: false });
    const socket = net.connect(Number(service.port), service.hostname);
    socket.setNoDelay(true);
    socket.write(encodePreamble({ mode: Mode.Duplex, via: serviceVia, encoding: KnownEncoding.Soap12BinarySession }));
    const decoder = new ClientDecoder();
    let acked = false;
    const queue: Buffer[] = [];
    ws.on('message', (payload: Buffer) => {
      if (acked) writeParts(socket, encodeSizedEnvelope(payload));
      else queue.push(payload);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (f.type === 'preambleAck') {
          acked = true;
          for (const payload of queue.splice(0)) writeParts(socket, encodeSizedEnvelope(payload));
        } else if (f.type === 'envelope') ws.send(f.payload);
      }
    });
    socket.on('error', () => ws.close());
    socket.on('close', () => ws.close());
    ws.on('close', () => socket.end(encodeEnd()));
    ws.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    control.once('open', () => resolve());
    control.once('error', reject);
  });
}

/** A Sized Envelope's parts in one write. */
function writeParts(socket: net.Socket, parts: Buffer[]): void {
  socket.cork();
  for (const p of parts) socket.write(p);
  socket.uncork();
}
