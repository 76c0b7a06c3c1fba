/**
 * The `http` service proxy: a relayed request becomes a call to a local HTTP(S) service.
 * The request path after the entity path is appended to the target's base path; the body is
 * streamed in, and the response is handed back as a stream. A call never leaves the base path:
 * a path with `.` or `..` segments (also percent-encoded, or between backslashes) is refused
 * with 400, so `/{entity}/../admin` cannot reach the rest of the local host.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { RelayError, TimeoutError } from '../../core/errors';

export interface HttpTarget {
  url: string;
  timeoutMs: number;
  ca?: string;
  rejectUnauthorized: boolean;
}

export interface LocalRequest {
  /** The relay's id for the call (its correlation id): failures are logged and answered under it. */
  id?: string;
  method: string;
  /** requestTarget from the relay: /{entity path}[/suffix][?query]. */
  requestTarget: string;
  headers: Record<string, string>;
  body: Readable | Buffer | undefined;
  remoteAddress?: string;
  /**
   * An answer whose declared Content-Length is at most this many bytes comes back whole (a
   * Buffer, read before the call resolves) instead of as a stream: one the agent would read whole
   * anyway to send it inline on the control connection.
   */
  wholeUpTo?: number;
}

export interface LocalResponse {
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string>;
  /** The answer's body: a stream from the service, or a Buffer when it is already whole (no Buffer → stream → Buffer). */
  body: Readable | Buffer;
}

/** Headers the local hop must not see as they came (the agent frames the call itself). */
const DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'proxy-connection', 'expect']);

/** A `.` or `..` path segment, also percent-encoded, between `/`, `\` or their escapes (WHATWG URL parsers treat `\` as `/`). */
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?:\/|\\|%2f|%5c|$)/i;

/**
 * How many characters of `raw` spell `prefix` (case-insensitively), also where the path arrived
 * percent-encoded (`/orders%2Fv1` for `/orders/v1`); 0 when it does not start with it.
 */
function rawPrefixLength(raw: string, prefix: string): number {
  const want = prefix.toLowerCase();
  if (raw.toLowerCase().startsWith(want)) return prefix.length;
  // Each character of the prefix takes 1 to 12 raw characters (a 4-byte UTF-8 escape).
  for (let i = prefix.length + 1; i <= Math.min(raw.length, prefix.length * 12); i++) {
    try {
      if (decodeURIComponent(raw.slice(0, i)).toLowerCase() === want) return i;
    } catch {
      /* cut inside an escape: try a longer one */
    }
  }
  return 0;
}

/** Percent-encodes what may not stand in a request line (spaces, controls, non-ASCII as UTF-8), as a URL's setters do. */
function escapeTarget(target: string): string {
  try {
    return target.replace(/[^\x21-\x7e]+/g, (s) => encodeURI(s));
  } catch {
    throw new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'the request path is not valid Unicode', { httpStatus: 400 });
  }
}

export class HttpProxy {
  readonly #base: URL;
  readonly #basePath: string;
  readonly #entityPath: string;
  readonly #target: HttpTarget;
  /**
   * Keep-alive connections to the service (undici: about a third less CPU per small call than
   * node:http's Agent, measured in the agent).
   */
  readonly #pool: Pool;
  /** Basic credentials from the target URL's userinfo, if any. */
  readonly #authorization: string | undefined;

  constructor(entityPath: string, target: HttpTarget) {
    this.#base = new URL(target.url);
    this.#basePath = this.#base.pathname.replace(/\/+$/, '');
    this.#entityPath = entityPath.replace(/^\/+|\/+$/g, '');
    this.#target = target;
    const tls = this.#base.protocol === 'https:';
    this.#pool = new Pool(this.#base.origin, {
      connections: 256,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
      connect: { noDelay: true, timeout: target.timeoutMs, ...(tls ? { ca: target.ca, rejectUnauthorized: target.rejectUnauthorized } : {}) },
    });
    this.#authorization = this.#base.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(this.#base.username)}:${decodeURIComponent(this.#base.password)}`).toString('base64')}`
      : undefined;
  }

  close(): void {
    void this.#pool.destroy().catch(() => undefined);
  }

  /** The service's base URL as configured (query dropped). */
  serviceUrl(): URL {
    const url = new URL(this.#base.href);
    url.search = '';
    return url;
  }

  /** The local URL a relayed request target maps to (localTarget on the service's origin). */
  localUrl(requestTarget: string): URL {
    return new URL(this.localTarget(requestTarget), this.#base.origin);
  }

  /**
   * Maps /{entity}/rest?q to {base path}/rest?q, as sent on the local hop. Throws
   * RELAY_ERR_PROTOCOL_INVALID_MESSAGE (400) for a path with dot segments.
   */
  localTarget(requestTarget: string): string {
    const q = requestTarget.indexOf('?');
    const path = q < 0 ? requestTarget : requestTarget.slice(0, q);
    const search = q < 0 ? '' : requestTarget.slice(q);
    const rest = path.slice(rawPrefixLength(path, `/${this.#entityPath}`));
    if (DOT_SEGMENT.test(rest)) {
      throw new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `the request path has '.' or '..' segments; calls stay under the service's base path`, { httpStatus: 400 });
    }
    return escapeTarget(`${`${this.#basePath}${rest}` || '/'}${search}`);
  }

  call(request: LocalRequest): Promise<LocalResponse> {
    let path: string;
    try {
      path = this.localTarget(request.requestTarget);
    } catch (err) {
      return Promise.reject(err);
    }
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
    if (this.#authorization && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) headers.Authorization = this.#authorization;
    // undici frames the body itself (Content-Length for a Buffer, chunked for a stream).
    const origin = this.#base.origin;
    const timeoutMs = this.#target.timeoutMs;
    const failure = (err: Error): RelayError => {
      if (err instanceof RelayError) return err;
      const code = (err as { code?: string }).code ?? '';
      if (code.endsWith('_TIMEOUT')) return new TimeoutError('RELAY_ERR_TIMEOUT', `the local service at ${origin} did not answer in ${timeoutMs} ms`, { cause: err });
      return new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the local service at ${origin} is unreachable: ${err.message}`, { cause: err });
    };
    return new Promise((resolve, reject) => {
      let body: Readable | undefined;
      /** An answer read whole (request.wholeUpTo): resolved when it is complete. */
      let whole: { statusCode: number; statusMessage: string; headers: Record<string, string>; parts: Buffer[]; size: number } | undefined;
      let abort: ((err?: Error) => void) | undefined;
      let complete = false;
      const handler: Dispatcher.DispatchHandlers = {
        onConnect: (a) => {
          abort = a;
        },
        onHeaders: (statusCode, raw, resume, statusText) => {
          const out: Record<string, string> = {};
          let lengthKnown = true;
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const k = raw[i]!.toString('latin1').toLowerCase();
            if (k === 'transfer-encoding') lengthKnown = false;
            const v = raw[i + 1]!.toString('latin1');
            out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
          }
          // The service's Content-Length is kept (the body is passed on unchanged): a relay that
          // streams the body over a rendezvous gives the caller that length instead of chunked.
          for (const k of Object.keys(out)) if (DROP.has(k) && !(k === 'content-length' && lengthKnown)) delete out[k];
          const declared = lengthKnown && out['content-length'] !== undefined ? Number(out['content-length']) : NaN;
          if (request.wholeUpTo !== undefined && Number.isSafeInteger(declared) && declared <= request.wholeUpTo) {
            whole = { statusCode, statusMessage: statusText ?? '', headers: out, parts: [], size: 0 };
            return true;
          }
          body = new Readable({
            read: () => resume(),
            destroy: (err, cb) => {
              if (!complete) abort?.(err ?? new Error('the response body was dropped'));
              cb(err);
            },
          });
          resolve({ statusCode, statusMessage: statusText ?? '', headers: out, body });
          return true;
        },
        onData: (chunk) => {
          if (!whole) return body!.push(chunk);
          whole.parts.push(chunk);
          whole.size += chunk.length;
          return true;
        },
        onComplete: () => {
          complete = true;
          if (whole) resolve({ statusCode: whole.statusCode, statusMessage: whole.statusMessage, headers: whole.headers, body: Buffer.concat(whole.parts, whole.size) });
          else body?.push(null);
        },
        onError: (err) => {
          if (body) body.destroy(failure(err));
          else reject(failure(err));
        },
      };
      const src = request.body;
      if (src !== undefined && !Buffer.isBuffer(src)) src.on('error', (err) => abort?.(err));
      try {
        this.#pool.dispatch({ path, method: request.method as Dispatcher.HttpMethod, headers, body: src ?? null }, handler);
      } catch (err) {
        reject(failure(err as Error));
      }
    });
  }
}
