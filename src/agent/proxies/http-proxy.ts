/**
 * The `http` service proxy: a relayed request becomes a call to a local HTTP(S) service.
 * The request path after the entity path is appended to the target's base path; the body is
 * streamed in, and the response is handed back as a stream.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { RelayError, TimeoutError } from '../../core/errors';

export interface HttpTarget {
  url: string;
  timeoutMs: number;
  ca?: string;
  rejectUnauthorized: boolean;
}

export interface LocalRequest {
  method: string;
  /** requestTarget from the relay: /{entity path}[/suffix][?query]. */
  requestTarget: string;
  headers: Record<string, string>;
  body: Readable | Buffer | undefined;
  remoteAddress?: string;
}

export interface LocalResponse {
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string>;
  body: Readable;
}

/** Headers the local hop must not see as they came (the agent frames the call itself). */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'proxy-connection']);

export class HttpProxy {
  readonly #base: URL;
  readonly #entityPath: string;
  readonly #target: HttpTarget;
  readonly #agent: http.Agent;

  constructor(entityPath: string, target: HttpTarget) {
    this.#base = new URL(target.url);
    this.#entityPath = entityPath.replace(/^\/+|\/+$/g, '');
    this.#target = target;
    const Agent = this.#base.protocol === 'https:' ? https.Agent : http.Agent;
    this.#agent = new Agent({ keepAlive: true, maxSockets: 256, noDelay: true });
  }

  close(): void {
    this.#agent.destroy();
  }

  /** Maps /{entity}/rest?q to {base path}/rest?q. */
  localUrl(requestTarget: string): URL {
    const q = requestTarget.indexOf('?');
    const path = q < 0 ? requestTarget : requestTarget.slice(0, q);
    const search = q < 0 ? '' : requestTarget.slice(q);
    let rest = path;
    const prefix = `/${this.#entityPath}`;
    if (rest.toLowerCase().startsWith(prefix.toLowerCase())) rest = rest.slice(prefix.length);
    else {
      // The path may arrive percent-encoded; compare decoded too.
      try {
        const decoded = decodeURIComponent(rest);
        if (decoded.toLowerCase().startsWith(prefix.toLowerCase())) rest = rest.slice(encodeURI(prefix).length);
      } catch {
        /* keep as is */
      }
    }
    const basePath = this.#base.pathname.replace(/\/+$/, '');
    const url = new URL(this.#base.href);
    url.pathname = `${basePath}${rest}` || '/';
    url.search = search;
    return url;
  }

  call(request: LocalRequest): Promise<LocalResponse> {
    const url = this.localUrl(request.requestTarget);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) {
      if (DROP.has(k.toLowerCase())) continue;
      headers[k] = v;
    }
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === 'host') {
        headers['X-Forwarded-Host'] = headers[k]!;
        delete headers[k];
      }
    }
    if (request.remoteAddress) headers['X-Forwarded-For'] = request.remoteAddress;
    // The relay strips framing headers; frame the local hop ourselves (a DELETE or OPTIONS with
    // a body would otherwise go out unframed).
    if (Buffer.isBuffer(request.body)) headers['Content-Length'] = String(request.body.length);
    else if (request.body) headers['Transfer-Encoding'] = 'chunked';
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method: request.method,
        headers,
        agent: this.#agent,
        timeout: this.#target.timeoutMs,
        ...(url.protocol === 'https:' ? { ca: this.#target.ca, rejectUnauthorized: this.#target.rejectUnauthorized } : {}),
      });
      req.on('response', (res) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (v === undefined || DROP.has(k)) continue;
          out[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve({ statusCode: res.statusCode ?? 502, statusMessage: res.statusMessage ?? '', headers: out, body: res });
      });
      req.on('timeout', () => req.destroy(new TimeoutError('RELAY_ERR_TIMEOUT', `the local service at ${url.origin} did not answer in ${this.#target.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(err instanceof RelayError ? err : new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the local service at ${url.origin} is unreachable: ${err.message}`, { cause: err })),
      );
      const body = request.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}
