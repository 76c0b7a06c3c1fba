/**
 * The relay's access log: one `access` line per HTTP request on the public port (relayed calls,
 * SOAP calls, metadata, the management API, status pages) and per refusal, written when its
 * answer is over. Each request gets a correlation id: the caller sees it in the
 * `Relaybridge-Correlation-Id` response header (and in JSON errors), the listener receives it as
 * the request id of the relayed call, and our agent logs its side of the call under it.
 *
 * Endpoints add what only they know (the entity path, the SOAP operation, the error code, the
 * listener) with noteCall(); the status, duration and bytes are read here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/logger';
import { CallStats } from './call-stats';

/** Response header naming the call's correlation id. */
export const CORRELATION_HEADER = 'Relaybridge-Correlation-Id';

/** What an endpoint tells the access log about a call. */
export interface CallNote {
  /** Which endpoint served it: http, soap, metadata, management, status. */
  endpoint?: string;
  /** The hybrid connection path (the entity), once resolved. */
  path?: string;
  /** The operation (SOAP action label, or the HTTP method). */
  operation?: string;
  /** The stable error code of a refusal or failure. */
  code?: string;
  /** The listener that served it. */
  listener?: string;
  /** The status the caller was answered with when the answer did not go through `res` (tarpit). */
  status?: number;
}

interface Tracked extends CallNote {
  readonly id: string;
}

const calls = new WeakMap<ServerResponse, Tracked>();
/** Per connection: its byte counts when its last request ended. */
const marks = new WeakMap<object, { read: number; written: number }>();

/** The correlation id of the call `res` answers; undefined when it is not tracked. */
export function correlationIdOf(res: ServerResponse): string | undefined {
  return calls.get(res)?.id;
}

/** Adds what an endpoint knows about the call `res` answers (no-op when it is not tracked). */
export function noteCall(res: ServerResponse, note: CallNote): void {
  const t = calls.get(res);
  if (t) Object.assign(t, note);
}

export interface AccessLogOptions {
  readonly log: Logger;
  readonly clock: Clock;
  readonly newId: () => string;
  /** The caller's address (trusted proxies' X-Forwarded-For applied). */
  readonly remoteOf: (req: IncomingMessage) => string;
  /** false: no lines (the correlation ids are still given, recent calls still kept). */
  readonly enabled: boolean;
}

/** One call or refusal, as its access line reports it. */
export interface AccessEntry {
  readonly id: string;
  /** When it started (epoch ms). */
  readonly at: number;
  readonly endpoint: string;
  readonly method?: string;
  readonly path: string;
  readonly operation?: string;
  readonly status: number;
  readonly code?: string;
  readonly ms: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  readonly listener?: string;
  readonly remote?: string;
}

/** Calls kept for the status page's "recent calls". */
const RECENT_CALLS = 200;

/** The relay's own pages and probes: logged, but neither recent calls nor per-path statistics. */
const OPS_ENDPOINTS = new Set(['status', 'health', 'metrics']);

export class AccessLog {
  /** Per-path calls per second, errors and percentiles (the status page). */
  readonly stats: CallStats;
  readonly #o: AccessLogOptions;
  readonly #recent: AccessEntry[] = [];
  #next = 0;

  constructor(options: AccessLogOptions) {
    this.#o = options;
    this.stats = new CallStats(() => options.clock.now());
  }

  /** The last calls, newest first. */
  recent(): AccessEntry[] {
    const r = this.#recent;
    const out: AccessEntry[] = [];
    for (let i = 1; i <= r.length; i++) out.push(r[(this.#next - i + r.length) % r.length]!);
    return out;
  }

  /** A call that did not come as an HTTP request on the public port (net.tcp, WebSocket). */
  call(e: Omit<AccessEntry, 'id' | 'at'> & { readonly id?: string; readonly startedAt: number }): void {
    // One shape for every entry (no spread of what the caller passed): this runs per carried call.
    this.#emit({
      id: e.id ?? this.#o.newId(),
      at: e.startedAt,
      endpoint: e.endpoint,
      method: e.method,
      path: e.path,
      operation: e.operation,
      status: e.status,
      code: e.code,
      ms: e.ms,
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
      listener: e.listener,
      remote: e.remote,
    });
  }

  #emit(raw: AccessEntry): void {
    // A caller-controlled path (an unknown one, a Via) is kept bounded in the line and the list.
    const entry = raw.path.length > MAX_PATH_CHARS ? { ...raw, path: `${raw.path.slice(0, MAX_PATH_CHARS)}…` } : raw;
    // Calls to the relayed paths feed the status page; its own requests, probes and listener
    // connections do not.
    if (!OPS_ENDPOINTS.has(entry.endpoint) && entry.operation !== 'listen') {
      if (this.#recent.length < RECENT_CALLS) this.#recent.push(entry);
      else this.#recent[this.#next] = entry;
      this.#next = (this.#next + 1) % RECENT_CALLS;
      this.stats.record(entry.path, entry.status, entry.ms);
    }
    if (!this.#o.enabled) return;
    const { at: _at, ...line } = entry;
    // Health probes (load balancers, every few seconds) only at debug.
    if (entry.endpoint === 'health' && entry.status < 400) this.#o.log.debug(line, 'access');
    else this.#o.log.info(line, 'access');
  }

  /** A new correlation id. */
  newId(): string {
    return this.#o.newId();
  }

  /** Starts tracking a request: its correlation id is set on the response; the line follows its end. */
  begin(req: IncomingMessage, res: ServerResponse, endpoint: string): string {
    const o = this.#o;
    const id = o.newId();
    const t: Tracked = { id, endpoint };
    calls.set(res, t);
    res.setHeader(CORRELATION_HEADER, id);
    const started = o.clock.now();
    const socket = req.socket;
    // From where the previous request on this connection ended: this request's head is already
    // read when it is handed over, so a count from now would miss it.
    const mark = marks.get(socket);
    const read = mark?.read ?? 0;
    const written = mark?.written ?? 0;
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      // One mark object per connection, updated in place.
      const m = marks.get(socket);
      if (m) {
        m.read = socket.bytesRead;
        m.written = socket.bytesWritten;
      } else marks.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      this.#emit({
        id,
        at: started,
        endpoint: t.endpoint ?? 'http',
        method: req.method,
        path: t.path ?? pathOf(req.url),
        operation: t.operation,
        status: t.status ?? (res.headersSent ? res.statusCode : 0),
        code: t.code,
        ms: Math.round(o.clock.now() - started),
        bytesIn: socket.bytesRead - read,
        bytesOut: socket.bytesWritten - written,
        listener: t.listener,
        remote: o.remoteOf(req),
      });
    };
    res.once('finish', end);
    res.once('close', end);
    return id;
  }
}

/** Longest path an access line keeps, characters. */
const MAX_PATH_CHARS = 256;

/** The request's path without its query, for a call that never named an entity. */
function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0]!;
}
