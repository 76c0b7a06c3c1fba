/**
 * The local forwarder (as `azbridge -L` and `cloudflared access tcp`): local ports whose
 * connections reach a service behind an agent through the relay, with no code on either side.
 *
 * - `tcp`: each local TCP connection becomes a Hybrid Connections WebSocket sender
 *   (`/$hc/{path}?sb-hc-action=connect`) to a listener of the path, whose agent joins it to its
 *   `tcp` target; bytes go both ways with back-pressure end to end (a `ws` stream, piped).
 * - `http`: each local HTTP request is sent to `https://relay/{path}{url}` with a token and its
 *   answer streamed back (an `http` target behind the agent).
 *
 * The forwarder keeps its ports open whatever the relay does: a connection that cannot reach
 * the relay is closed (HTTP: 502) with a log line saying why, and the next one tries again. Each
 * connection gets a log line when it opens and when it ends (bytes each way, duration).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { pipeline } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import type { TokenProvider } from '../auth/token-provider';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/logger';
import { ProxyAgent } from '../transport/proxy-agent';

export interface ForwardSpec {
  /** Local address to listen on. */
  readonly host: string;
  /** Local port (0: any free port). */
  readonly port: number;
  /** The hybrid connection path. */
  readonly path: string;
  /** tcp: byte streams to a `tcp` target; http: HTTP requests to an `http` target. */
  readonly type: 'tcp' | 'http';
}

export interface ForwarderOptions {
  /** The relay's base URL (http(s)://host:port). */
  readonly relayUrl: string;
  readonly tokenProvider: TokenProvider;
  readonly forwards: readonly ForwardSpec[];
  /** A PEM CA for the relay's certificate (self-signed relays). */
  readonly ca?: string;
  /** An HTTP proxy to reach the relay through (http://[user:password@]host:port): CONNECT, TLS through it. */
  readonly proxy?: string;
  readonly rejectUnauthorized?: boolean;
  /** Time to reach the relay (WebSocket upgrade, or the HTTP answer's head), ms. */
  readonly connectTimeoutMs?: number;
  readonly tokenTtlSeconds?: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface BoundForward extends ForwardSpec {
  /** The port actually bound. */
  readonly boundPort: number;
}

interface Listening {
  readonly spec: ForwardSpec;
  readonly server: net.Server | http.Server;
  readonly sockets: Set<net.Socket>;
}

export class Forwarder {
  readonly #o: ForwarderOptions;
  readonly #base: string;
  readonly #listening: Listening[] = [];
  readonly #proxy: ProxyAgent | undefined;

  constructor(options: ForwarderOptions) {
    this.#o = options;
    this.#base = options.relayUrl.replace(/\/+$/, '');
    this.#proxy = options.proxy ? new ProxyAgent(options.proxy) : undefined;
  }

  /** Opens every local port; rejects (closing what opened) when one cannot be opened. */
  async start(): Promise<BoundForward[]> {
    const bound: BoundForward[] = [];
    try {
      for (const spec of this.#o.forwards) {
        const sockets = new Set<net.Socket>();
        const server = spec.type === 'tcp' ? net.createServer((s) => this.#tcp(spec, s)) : http.createServer((req, res) => this.#http(spec, req, res));
        server.on('connection', (s: net.Socket) => {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(spec.port, spec.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        this.#listening.push({ spec, server, sockets });
        const boundPort = (server.address() as net.AddressInfo).port;
        bound.push({ ...spec, boundPort });
        this.#o.logger.info({ listen: `${spec.host}:${boundPort}`, path: spec.path, type: spec.type }, 'forwarding');
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    return bound;
  }

  /** Closes the ports and every connection through them. */
  async stop(): Promise<void> {
    const all = this.#listening.splice(0);
    await Promise.all(
      all.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.server.close(() => resolve());
            for (const s of l.sockets) s.destroy();
          }),
      ),
    );
  }

  async #token(path: string): Promise<string> {
    return this.#o.tokenProvider(`${this.#base}/${path}`, this.#o.tokenTtlSeconds ?? 3600);
  }

  /** One local TCP connection: a WebSocket sender through the relay, piped both ways. */
  #tcp(spec: ForwardSpec, socket: net.Socket): void {
    const o = this.#o;
    const conn = randomUUID().slice(0, 8);
    const started = o.clock.now();
    const log = o.logger.child({ path: spec.path, conn });
    socket.setNoDelay(true);
    socket.pause();
    log.info({ client: `${socket.remoteAddress}:${socket.remotePort}` }, 'connection opened');
    let opened = false;
    let over = false;
    const ended = (why: string, err?: Error): void => {
      if (over) return;
      over = true;
      log.info({ why, err: err?.message, bytesIn: socket.bytesRead, bytesOut: socket.bytesWritten, ms: Math.round(o.clock.now() - started) }, 'connection closed');
    };
    socket.on('error', () => undefined);
    this.#token(spec.path).then(
      (token) => {
        if (socket.destroyed) return ended('client gone');
        const url = `${this.#base.replace(/^http/i, 'ws')}/$hc/${spec.path.split('/').map(encodeURIComponent).join('/')}?sb-hc-action=connect`;
        const ws = new WebSocket(url, {
          headers: { ServiceBusAuthorization: token },
          perMessageDeflate: false,
          handshakeTimeout: o.connectTimeoutMs ?? 20_000,
          ca: o.ca,
          rejectUnauthorized: o.rejectUnauthorized ?? true,
          ...(this.#proxy ? { agent: this.#proxy.agent } : {}),
        });
        ws.on('unexpected-response', (req, res) => {
          res.resume();
          const proxyRefusal = this.#proxy?.refusal(req);
          if (proxyRefusal) log.warn({ status: res.statusCode, reason: proxyRefusal }, 'the proxy refused the connection; the next connection tries again');
          else log.warn({ status: res.statusCode, reason: res.statusMessage }, 'the relay refused the connection');
          ended(`refused: ${res.statusCode}`);
          ws.terminate();
          socket.destroy();
        });
        ws.on('error', (err) => {
          // After a refusal (its own line) or once open (the pipes end it), nothing more to say.
          if (opened || over) return;
          log.warn({ err: err.message }, 'could not reach the relay; the next connection tries again');
          socket.destroy();
          ended('relay unreachable', err);
        });
        ws.on('open', () => {
          opened = true;
          socket.resume();
          const stream = createWebSocketStream(ws);
          let done = 0;
          const finish = (err?: Error | null): void => {
            if (++done < 2) return;
            ws.terminate();
            socket.destroy();
            ended('done', err ?? undefined);
          };
          // Both directions with back-pressure; a side ending ends the other once it is written.
          pipeline(socket, stream, (err) => finish(err));
          pipeline(stream, socket, (err) => finish(err));
        });
      },
      (err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not make a token');
        socket.destroy();
        ended('no token', err as Error);
      },
    );
  }

  /** One local HTTP request: sent to the relay with a token, the answer streamed back. */
  #http(spec: ForwardSpec, req: http.IncomingMessage, res: http.ServerResponse): void {
    const o = this.#o;
    const started = o.clock.now();
    const log = o.logger.child({ path: spec.path });
    const fail = (status: number, message: string): void => {
      if (!res.headersSent) res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
      else res.destroy();
    };
    this.#token(spec.path).then(
      (token) => {
        const url = new URL(`${this.#base}/${spec.path}${(req.url ?? '/') === '/' ? '' : (req.url ?? '')}`);
        const headers = { ...req.headers, host: url.host, servicebusauthorization: token };
        const mod = url.protocol === 'https:' ? https : http;
        const out = mod.request(url, {
          method: req.method,
          headers,
          timeout: o.connectTimeoutMs ?? 60_000,
          ...(url.protocol === 'https:' ? { ca: o.ca, rejectUnauthorized: o.rejectUnauthorized ?? true } : {}),
          ...(this.#proxy ? { agent: this.#proxy.agent } : {}),
        });
        out.on('response', (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
          pipeline(answer, res, (err) => {
            log.info({ method: req.method, url: req.url, status: answer.statusCode, ms: Math.round(o.clock.now() - started), err: err?.message, id: answer.headers['relaybridge-correlation-id'] }, 'request');
          });
        });
        out.on('timeout', () => out.destroy(new Error('the relay did not answer in time')));
        out.on('error', (err) => {
          log.warn({ method: req.method, url: req.url, err: err.message }, 'could not reach the relay');
          fail(502, `relaybridge forward: could not reach the relay (${err.message})`);
        });
        pipeline(req, out, () => undefined);
      },
      (err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not make a token');
        fail(502, 'relaybridge forward: could not make a token');
      },
    );
  }
}
