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
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';

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
