/**
 * `/$status`, `/$metrics` and `/$health`: who may see the relay's inventory.
 *
 * On the public port (anyone can reach it):
 *   - `/$health` answers only `{"status":"ok"}` (200) or `{"status":"unavailable"}` (503); the
 *     details (node id, listener count) need a Manage token.
 *   - `/$status` and `/$metrics` need a SAS token with Manage on the namespace, in the
 *     `ServiceBusAuthorization` or `Authorization` header (scripts, Prometheus `authorization`
 *     config), or, for an operator's browser, a token pasted into the status page's login form:
 *     the form POSTs it, the relay checks it and keeps it in an HttpOnly, SameSite=Strict cookie
 *     scoped to `/$status` until the token expires (never in the URL, history or access logs).
 *     `?sb-hc-token=` is accepted too, as on every relay endpoint.
 * On the admin listener (`admin: { port, host }`, loopback by default): all three, with details,
 * and no token.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import type { ManagementDeps } from '../../deps';
import { httpFormOf } from '../../http/json-error';
import type { RelayMetrics } from '../../metrics';
import { renderLoginPage, renderStatusContent, renderStatusPage, statusModel } from './status-page';

/** Cookie that carries a status-page login (the SAS token itself, checked on every request). */
const STATUS_COOKIE = 'relaybridge_status_token';
/** Largest login form body, bytes (a SAS token is at most 4 KiB). */
const MAX_LOGIN_BODY_BYTES = 8 * 1024;

export type OpsRoute = '/$status' | '/$metrics' | '/$health';

export function opsRouteOf(pathname: string): OpsRoute | undefined {
  return pathname === '/$status' || pathname === '/$metrics' || pathname === '/$health' ? pathname : undefined;
}

export interface OpsOptions {
  /** True on the admin listener: no token is asked for. */
  trusted: boolean;
  /** False while the relay is closing: /$health answers 503. */
  up: () => boolean;
}

export class OpsEndpoints {
  readonly #ctx: ManagementDeps;
  readonly #metrics: RelayMetrics;

  constructor(ctx: ManagementDeps) {
    this.#ctx = ctx;
    this.#metrics = ctx.metrics;
  }

  handle(route: OpsRoute, req: IncomingMessage, res: ServerResponse, o: OpsOptions): void {
    res.setHeader('Cache-Control', 'no-store');
    this.#serve(route, req, res, o).catch((err: unknown) => {
      this.#ctx.log.warn({ err: (err as Error).message, route }, 'ops endpoint failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  }

  async #serve(route: OpsRoute, req: IncomingMessage, res: ServerResponse, o: OpsOptions): Promise<void> {
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    if (route === '/$health') {
      const up = o.up();
      const details = o.trusted || (await this.#manage(req, query, route)) === true;
      const status = up ? 'ok' : this.#ctx.router.draining ? 'draining' : 'unavailable';
      const nodes = details ? this.#ctx.nodes() : [];
      const body = details
        ? {
            status,
            nodeId: this.#ctx.config.nodeId,
            // This node's own listeners; `nodes` lists every node of the namespace (a shared store).
            listeners: nodes[0]?.listeners ?? 0,
            ...(nodes.length > 1 ? { nodes: nodes.map(({ nodeId, listeners, draining }) => ({ nodeId, listeners, draining })) } : {}),
          }
        : { status };
      return json(res, up ? 200 : 503, body);
    }
    if (route === '/$status' && req.method === 'POST' && !o.trusted) return this.#login(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return json(res, 405, { error: { code: 'MethodNotAllowed', message: `${req.method} is not supported here` } });
    }
    if (!o.trusted) {
      const verdict = await this.#manage(req, query, route);
      if (verdict !== true) return this.#refuse(route, res, verdict);
    }
    if (route === '/$metrics') {
      if (!this.#ctx.config.metrics) return json(res, 404, { error: { code: 'NotFound', message: 'metrics are turned off' } });
      const text = await this.#metrics.registry.metrics();
      res.setHeader('Content-Type', this.#metrics.registry.contentType);
      res.end(text);
      return;
    }
    const model = await statusModel(this.#ctx);
    if (query.get('format') === 'json' || /^application\/json\b/i.test(req.headers.accept ?? '')) return json(res, 200, model);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    if (query.get('fragment') === '1') {
      res.setHeader('Content-Security-Policy', "default-src 'none'");
      res.end(renderStatusContent(model));
      return;
    }
    // The page's one script (its refresh) runs by nonce; it may fetch this page and nothing else.
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'`);
    res.end(renderStatusPage(model, { showLogout: !o.trusted && !!cookieToken(req), nonce }));
  }

  /** True when the request carries a Manage token for the namespace, else the refusal. */
  async #manage(req: IncomingMessage, query: URLSearchParams, route: OpsRoute): Promise<true | { status: number; code: string; message: string }> {
    const headers = { ...req.headers };
    const fromCookie = route === '/$status' ? cookieToken(req) : undefined;
    if (fromCookie && headers.servicebusauthorization === undefined) headers.servicebusauthorization = fromCookie;
    try {
      await this.#ctx.access.authorize(opsTarget(route), 'Manage', headers, query);
      return true;
    } catch (err) {
      const { status, code, message } = httpFormOf(toRelayError(err));
      return { status, code, message };
    }
  }

  #refuse(route: OpsRoute, res: ServerResponse, verdict: { status: number; code: string; message: string }): void {
    this.#ctx.log.debug({ route, code: verdict.code }, 'ops endpoint refused');
    if (route === '/$status') {
      res.statusCode = verdict.status;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
      res.end(renderLoginPage(verdict.message));
      return;
    }
    json(res, verdict.status, { error: { code: verdict.code, message: verdict.message } });
  }

  /** The login form: `token=<SAS token>` (or `logout=1`), urlencoded, at most MAX_LOGIN_BODY_BYTES. */
  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readSmallBody(req, MAX_LOGIN_BODY_BYTES);
    if (body === undefined) {
      res.setHeader('Connection', 'close');
      return json(res, 413, { error: { code: 'PayloadTooLarge', message: 'The login form is too large or too slow.' } });
    }
    const form = new URLSearchParams(body);
    if (form.get('logout')) {
      res.setHeader('Set-Cookie', `${STATUS_COOKIE}=; Path=/$status; Max-Age=0; HttpOnly; SameSite=Strict`);
      res.writeHead(303, { Location: '/$status' }).end();
      return;
    }
    const token = (form.get('token') ?? '').trim();
    try {
      const result = this.#ctx.access.authorizeToken(opsTarget('/$status'), 'Manage', token || undefined);
      const maxAge = Math.max(0, Math.min(result.expiresAt - Math.floor(this.#ctx.config.clock.now() / 1000), 24 * 3600));
      const secure = !!this.#ctx.config.tls ? '; Secure' : '';
      res.setHeader('Set-Cookie', `${STATUS_COOKIE}=${encodeURIComponent(token)}; Path=/$status; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`);
      res.writeHead(303, { Location: '/$status' }).end();
    } catch (err) {
      this.#refuse('/$status', res, httpFormOf(toRelayError(err)));
    }
  }
}

/** The namespace-level target a Manage token is checked against (namespace rules only). */
function opsTarget(route: OpsRoute): HybridConnection {
  return { path: route.slice(1), requiresClientAuthorization: true, createdAt: '', updatedAt: '', authorizationRules: [] };
}

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === STATUS_COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
}

/** Longest a login form may take to arrive, ms. */
const LOGIN_BODY_TIMEOUT_MS = 10_000;

/** Reads a body of at most `max` bytes within LOGIN_BODY_TIMEOUT_MS; undefined when longer or slower. */
function readSmallBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const done = (value: string | undefined): void => {
      clearTimeout(timer);
      req.off('data', onData);
      resolve(value);
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > max) return done(undefined);
      chunks.push(c);
    };
    const timer = setTimeout(() => done(undefined), LOGIN_BODY_TIMEOUT_MS);
    req.on('data', onData);
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => done(undefined));
  });
}
