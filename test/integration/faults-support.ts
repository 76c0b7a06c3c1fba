/**
 * Shared pieces of the faults-* suites: a logger that keeps what it is given, a bare Hybrid
 * Connections listener (not our agent) that answers every request as told, and services that
 * answer SOAP calls with something that is not SOAP.
 */
import http from 'node:http';
import WebSocket from 'ws';
import type { Logger } from '../../src/core/logger';
import type { RelayServer } from '../../src/relay/relay-server';
import { token } from '../helpers/harness';

export interface LogLine {
  level: string;
  msg: string | undefined;
  [key: string]: unknown;
}

/** A pino-shaped logger that records every line with its bindings in `lines` (the options deep-freeze the logger, so not on it). */
export function memoryLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (a: object | string, msg?: string): void => {
      if (typeof a === 'string') lines.push({ ...bindings, level, msg: a });
      else lines.push({ ...bindings, ...(a as Record<string, unknown>), level, msg });
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => memoryLogger(lines, { ...bindings, ...b }),
  };
}

export interface RawAnswer {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/**
 * A listener that speaks the Hybrid Connections control protocol itself (as any third-party
 * listener would) and answers each request on the control channel with `answer(request)`.
 */
export async function rawListener(relay: RelayServer, path: string, answer: (req: { requestTarget?: string; requestHeaders?: Record<string, string> }) => RawAnswer): Promise<WebSocket> {
  const ws = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/$hc/${path}?sb-hc-action=listen&sb-hc-id=raw`, {
    headers: { ServiceBusAuthorization: token(relay, path) },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString()) as { request?: { id: string; requestTarget?: string; requestHeaders?: Record<string, string>; method?: string } };
    const req = msg.request;
    if (!req || req.method === undefined) return;
    const a = answer(req);
    const body = a.body && a.body.length > 0 ? a.body : undefined;
    ws.send(JSON.stringify({ response: { requestId: req.id, statusCode: a.statusCode, statusDescription: a.statusDescription, responseHeaders: a.headers ?? {}, body: body !== undefined } }));
    if (body) ws.send(body, { binary: true });
  });
  return ws;
}

/** Answers every POST with `status` and no body (Mono's answer to the other SOAP version: 415). */
export function emptyStatusService(status: number, seen: string[] = []): http.RequestListener {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`);
      res.writeHead(status).end();
    });
  };
}

export function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${what} in ${ms} ms (a hang)`)), ms);
    }),
  ]);
}
