/**
 * Serving relayed HTTP requests, apart from the control connection that brings them
 * (control/listener-channel.ts): each request goes to the path's service proxy, and its answer
 * goes back inline on the control connection it came on when the whole body fits under that
 * connection's limit, else as a JSON head and a streamed body over a rendezvous socket to the
 * request's address (as .NET and hyco-https do). A request that announced only its address is
 * fetched over a rendezvous, its body streamed in and the answer streamed out on the same socket.
 *
 * A local body that breaks off is never sent as a complete response: before anything went out it
 * becomes a 502 error response; once streaming, the rendezvous closes with 1011, which the relay
 * turns into a failed call.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Clock } from '../../core/clock';
import { RelayError, toRelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { InvalidCommandError, parseServiceMessage, serializeResponse, type RequestCommand } from '../../protocol/hyco';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import type { LocalResponse } from '../proxies/http-proxy';
import type { ServiceProxy } from '../proxies/service-proxy';
import { rendezvousHostPort, type RendezvousDialer } from '../rendezvous/rendezvous-client';
import { errorResponse, markOneWayAck, streamResponse } from './responses';
import { pump } from '../../core/pump';

/** One control connection as the serving side sees it: whether it is open, its inline body limit, and a way to answer on it. */
export interface ControlLink {
  readonly open: boolean;
  /** The largest response body sent inline on this connection (the protocol's 64 KiB, or what the relay agreed). */
  readonly controlBodyLimit: number;
  /** A response head and its (possibly empty) body, in one write. */
  sendResponse(head: Parameters<typeof serializeResponse>[0], body: Buffer): void;
}

/** A response's head as it goes to the relay (its body flag is set where it is sent). */
type ResponseHead = Omit<Parameters<typeof serializeResponse>[0], 'body'>;

export interface RequestServerOptions {
  readonly path: string;
  /** The service proxy for relayed HTTP requests (http, module, ipc or nettcp target); none: 502. */
  readonly http?: ServiceProxy;
  readonly dialer: RendezvousDialer;
  /** A relayed call is over on this side (the agent's metrics). */
  readonly onCall?: (status: number, ms: number) => void;
  readonly clock: Clock;
  readonly logger: Logger;
}

export class RequestServer {
  readonly #o: RequestServerOptions;
  readonly #log: Logger;

  constructor(options: RequestServerOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** A request whose body (≤ the control-channel limit) came on the control connection, or none. */
  async handle(link: ControlLink, req: RequestCommand, body: Buffer | undefined): Promise<void> {
    let res: LocalResponse;
    try {
      res = await this.#callLocal(req, body, link.controlBodyLimit);
    } catch (err) {
      res = errorResponse(err);
    }
    await this.respond(link, req, res);
  }

  /**
   * Sends the response: on the control connection when the whole body fits under its limit,
   * otherwise JSON plus a streamed body over a rendezvous socket to the request's address.
   */
  async respond(link: ControlLink, req: RequestCommand, res: LocalResponse): Promise<void> {
    const threshold = link.controlBodyLimit;
    const head = { requestId: req.id, statusCode: res.statusCode, statusDescription: res.statusMessage || undefined, responseHeaders: res.headers };
    const body = res.body;
    if (Buffer.isBuffer(body)) {
      // Whole already (a SOAP reply, a fault, an error): inline when it fits, else over a rendezvous.
      return body.length <= threshold ? this.#sendInline(link, head, body) : this.#overRendezvous(link, req, head, [], body);
    }
    const buffered: Buffer[] = [];
    let size = 0;
    let failed: Error | undefined;
    const overflow = await new Promise<boolean>((resolve) => {
      const onData = (c: Buffer) => {
        buffered.push(c);
        size += c.length;
        if (size > threshold) {
          body.pause();
          body.off('data', onData);
          body.off('end', onEnd);
          resolve(true);
        }
      };
      const onEnd = () => resolve(false);
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', (err) => {
        failed = err;
        resolve(false);
      });
    });
    // The local body broke off: never send what arrived as a complete response.
    if (failed) return this.respond(link, req, errorResponse(new RelayError('RELAY_ERR_TARGET_BAD_RESPONSE', 'The service behind this path broke off its response.', { cause: failed })));
    if (!overflow) return this.#sendInline(link, head, Buffer.concat(buffered, size));
    return this.#overRendezvous(link, req, head, buffered, body);
  }

  /** A response too large for the control connection: its head and body over a rendezvous to the request's address. */
  async #overRendezvous(link: ControlLink, req: RequestCommand, head: ResponseHead, first: Buffer[], body: Readable | Buffer): Promise<void> {
    let ep: WsEndpoint;
    try {
      ep = await this.#o.dialer.open(req.address, 'messages');
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      // The caller would wait for the relay's timeout: answer 502 on the control connection now.
      return this.#sendError(link, req, this.#unreachable(req.address, err, 'response'));
    }
    streamResponse(ep, head, first, body);
  }

  /**
   * An error answered on the control connection whatever its limit: never over a rendezvous (the
   * one that failed is why it is sent), its JSON body left out if the connection's limit is
   * smaller (the status and the code header still say it).
   */
  #sendError(link: ControlLink, req: RequestCommand, err: RelayError): void {
    const r = errorResponse(err);
    const body = r.body as Buffer;
    const head = { requestId: req.id, statusCode: r.statusCode, statusDescription: r.statusMessage || undefined, responseHeaders: r.headers };
    this.#sendInline(link, head, body.length <= link.controlBodyLimit ? body : Buffer.alloc(0));
  }

  /** A whole answer on the control connection; an empty 2xx is marked as the service's one-way acknowledgement. */
  #sendInline(link: ControlLink, head: ResponseHead, whole: Buffer): void {
    if (!link.open) return;
    const responseHeaders = whole.length === 0 ? markOneWayAck(head.statusCode, head.responseHeaders) : head.responseHeaders;
    link.sendResponse({ requestId: head.requestId, statusCode: head.statusCode, statusDescription: head.statusDescription, responseHeaders, body: whole.length > 0 }, whole);
  }

  /** An address-only request: fetched over a rendezvous, its body streamed in and the response out; settles when that socket closes. */
  async handleRendezvous(link: ControlLink, cmd: RequestCommand): Promise<void> {
    let ep: WsEndpoint;
    try {
      ep = await this.#o.dialer.open(cmd.address, 'messages');
    } catch (err) {
      // The request itself is out of reach, but its id is not: the relay takes a control-channel
      // response for it (the request went out on this channel), so the caller gets 502 now
      // instead of the relay's timeout.
      return this.#sendError(link, cmd, this.#unreachable(cmd.address, err, 'request'));
    }
    const bodyStream = new PassThrough();
    let started = false;
    ep.on('text', (text) => {
      if (started) return;
      started = true;
      let req: RequestCommand;
      try {
        const msg = parseServiceMessage(text);
        if (msg.type !== 'request') throw new Error(`expected a request, got ${msg.type}`);
        req = msg;
      } catch (err) {
        this.#log.info({ err: (err as Error).message }, 'invalid request on rendezvous');
        if (err instanceof InvalidCommandError && err.command === 'request') {
          // It names its request: that one gets the error, on its own rendezvous.
          const r = errorResponse(err);
          bodyStream.resume(); // its body, if any, is read and dropped
          streamResponse(ep, { requestId: err.id, statusCode: r.statusCode, statusDescription: r.statusMessage, responseHeaders: r.headers }, [], r.body);
        } else ep.close(1008, 'invalid request');
        return;
      }
      const requestId = req.id;
      if (!req.body) bodyStream.end();
      this.#callLocal(req, req.body ? bodyStream : undefined).then(
        (res) =>
          streamResponse(
            ep,
            // Over a rendezvous the body is streamed: 202 and 204 are known empty before it.
            { requestId, statusCode: res.statusCode, statusDescription: res.statusMessage || undefined, responseHeaders: res.statusCode === 202 || res.statusCode === 204 ? markOneWayAck(res.statusCode, res.headers) : res.headers },
            [],
            res.body,
          ),
        (err: unknown) => {
          const r = errorResponse(err);
          streamResponse(ep, { requestId, statusCode: r.statusCode, statusDescription: r.statusMessage, responseHeaders: r.headers }, [], r.body);
        },
      );
    });
    pump(ep, (f: (d: Buffer) => void) => ep.on('binaryData', f), (d) => bodyStream.write(Buffer.from(d)), bodyStream);
    ep.on('binaryEnd', () => bodyStream.end());
    const closed = new Promise<void>((resolve) =>
      ep.on('closed', () => {
        if (!bodyStream.writableEnded) bodyStream.destroy();
        resolve();
      }),
    );
    ep.start();
    // In flight until its rendezvous closes (the response is out or the caller is gone).
    await closed;
  }

  /**
   * The call to the local service, and its `call` line: under the relay's id for the call (the
   * relay's access line and the caller's Relaybridge-Correlation-Id name the same id), with the
   * status the service answered and the time to its answer.
   */
  async #callLocal(req: RequestCommand, body: Readable | Buffer | undefined, wholeUpTo?: number): Promise<LocalResponse> {
    const { http: proxy, clock, path } = this.#o;
    const started = clock.now();
    const method = req.method ?? 'GET';
    const target = (req.requestTarget ?? `/${path}`).split('?')[0]!;
    try {
      if (!proxy) throw new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `path '${path}' has no HTTP target`);
      const res = await proxy.call({ id: req.id, method, requestTarget: req.requestTarget ?? `/${path}`, headers: req.requestHeaders ?? {}, body, remoteAddress: req.remoteEndpoint?.address, wholeUpTo });
      const code = res.headers['x-relaybridge-error'];
      const ms = clock.now() - started;
      this.#log.info({ id: req.id, method, target, status: res.statusCode, code, ms: Math.round(ms) }, 'call');
      this.#o.onCall?.(res.statusCode, ms);
      return res;
    } catch (err) {
      const e = toRelayError(err);
      const ms = clock.now() - started;
      this.#log.info({ id: req.id, method, target, status: e.httpStatus ?? 502, code: e.code, ms: Math.round(ms) }, 'call');
      this.#o.onCall?.(e.httpStatus ?? 502, ms);
      throw err;
    }
  }

  /**
   * The error for a rendezvous the agent could not open, logged at warn (it is a configuration
   * problem, mostly a relay `publicUrl` the agent cannot reach). It names the address's host:port
   * only: the rest of the address (the rendezvous id) is a capability and stays out of messages.
   */
  #unreachable(address: string, err: unknown, what: 'request' | 'response'): RelayError {
    const where = rendezvousHostPort(address);
    const reason = err instanceof RelayError ? err.message : ((err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err));
    this.#log.warn({ rendezvous: where, err: reason }, `could not open a ${what} rendezvous`);
    return new RelayError(
      'RELAY_ERR_RENDEZVOUS_UNREACHABLE',
      `The agent could not open the rendezvous connection to the relay at ${where} (${reason}); check the relay's publicUrl.`,
      { cause: err },
    );
  }
}
