/**
 * Serving relayed connections (`accept` commands), apart from the control connection that
 * brings them (control/listener-channel.ts): a WebSocket sender's connection is piped to the
 * path's stream target (`tcp`, `ws`), and a relayed net.tcp client session gets a service
 * session of its own at the `nettcp` target (protocol/hyco/session-carrier.ts). What cannot be
 * served is refused on the accept's rendezvous address (404 no such target, 502 unreachable, 503
 * too many sessions), so the sender learns at once.
 */
import { RelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import {
  BINARY_CARRIER,
  NET_TCP_SESSION,
  SESSION_ENCODING_HEADER,
  SESSION_ENCODINGS_HEADER,
  SESSION_KIND_HEADER,
  SESSION_TARGET_HEADER,
  SESSION_TO_HEADER,
  SessionCloseCode,
  type AcceptCommand,
} from '../../protocol/hyco';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import type { ServiceSession, SessionTarget } from '../proxies/service-proxy';
import type { StreamTarget } from '../proxies/stream-proxy';
import type { RendezvousDialer } from '../rendezvous/rendezvous-client';
import { headerOf } from './responses';

export interface AcceptServerOptions {
  readonly path: string;
  /** The stream target for relayed WebSocket connections (tcp or ws); none: 404. */
  readonly stream?: StreamTarget;
  /** The target holding a service session per relayed net.tcp client session (nettcp); none: 404. */
  readonly sessions?: SessionTarget;
  readonly dialer: RendezvousDialer;
  readonly logger: Logger;
}

export class AcceptServer {
  readonly #o: AcceptServerOptions;
  readonly #log: Logger;
  /** Connections and sessions being served (closeAll() ends them). */
  readonly #active = new Set<{ destroy(): void }>();

  constructor(options: AcceptServerOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Serves one accept; settles when it was refused, or once its connection or session is over. */
  async accept(cmd: AcceptCommand): Promise<void> {
    if (headerOf(cmd.connectHeaders, SESSION_KIND_HEADER) === NET_TCP_SESSION) return this.#session(cmd);
    const { stream: target, dialer, path } = this.#o;
    const offered = headerOf(cmd.connectHeaders, 'sec-websocket-protocol');
    const protocol = offered?.split(',')[0]?.trim() || undefined;
    if (!target) {
      await dialer.reject(cmd.address, 404, `No WebSocket target is configured for '${path}'`).catch(() => undefined);
      return;
    }
    let local;
    try {
      local = await target.open(protocol);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'local target refused a relayed connection');
      await dialer.reject(cmd.address, 502, 'The local target is unreachable').catch(() => undefined);
      return;
    }
    let ep: WsEndpoint;
    try {
      ep = await dialer.open(cmd.address, 'messages', protocol);
    } catch (err) {
      this.#log.info({ err: (err as Error).message }, 'accept rendezvous failed');
      local.destroy();
      return;
    }
    this.#active.add(local);
    ep.on('closed', () => this.#active.delete(local));
    local.pipe(ep, this.#log.child({ connId: cmd.id }));
    ep.start();
  }

  /** Ends every connection and session being served (the agent is stopping). */
  closeAll(): void {
    for (const a of this.#active) a.destroy();
  }

  /**
   * A relayed net.tcp client session (protocol/hyco/session-carrier.ts): a service session of its
   * own, then the carrier WebSocket; messages both ways until either side ends or fails, which
   * ends the other (End for an orderly end, a dropped connection for a failure).
   */
  async #session(cmd: AcceptCommand): Promise<void> {
    const { sessions: target, dialer, path } = this.#o;
    const log = this.#log.child({ connId: cmd.id, client: cmd.remoteEndpoint?.address });
    if (!target) {
      await dialer.reject(cmd.address, 404, `No net.tcp session target is configured for '${path}'`).catch(() => undefined);
      return;
    }
    const binaryOffered = (headerOf(cmd.connectHeaders, SESSION_ENCODINGS_HEADER) ?? '')
      .split(',')
      .some((e) => e.trim().toLowerCase() === BINARY_CARRIER);
    let session: ServiceSession;
    try {
      session = await target.openSession({ binary: binaryOffered });
    } catch (err) {
      const busy = err instanceof RelayError && err.code === 'RELAY_ERR_TOO_BUSY';
      log.info({ err: (err as Error).message }, busy ? 'net.tcp session refused: too many sessions' : 'net.tcp service refused a session');
      await dialer.reject(cmd.address, busy ? 503 : 502, busy ? 'Too many sessions' : 'The net.tcp service is unreachable').catch(() => undefined);
      return;
    }
    let ep: WsEndpoint;
    try {
      const headers = session.encoding === 'binary' ? { [SESSION_ENCODING_HEADER]: BINARY_CARRIER, [SESSION_TO_HEADER]: session.address } : undefined;
      ep = await dialer.open(cmd.address, 'messages', undefined, headers);
    } catch (err) {
      log.info({ err: (err as Error).message }, 'session rendezvous failed');
      session.abort();
      return;
    }
    log.info({ target: headerOf(cmd.connectHeaders, SESSION_TARGET_HEADER), encoding: session.encoding }, 'net.tcp session started');
    const handle = { destroy: () => ep.terminate() };
    this.#active.add(handle);
    let peerCode: number | undefined;
    let over = false;
    if (session.encoding === 'binary') {
      ep.on('binary', (payload) => session.send(payload));
      ep.on('text', () => ep.close(SessionCloseCode.Failed, 'text message on a binary carrier'));
      session.onMessage = (payload) => ep.sendBinary(payload);
    } else {
      ep.on('text', (text) => session.send(Buffer.from(text, 'utf8')));
      ep.on('binary', () => ep.close(SessionCloseCode.Failed, 'binary message on a text carrier'));
      session.onMessage = (xml) => ep.sendText(xml.toString('utf8'));
    }
    ep.on('closeFrame', (code) => (peerCode = code));
    session.onClosed = (orderly, reason) => {
      if (over) return;
      over = true;
      log.info({ orderly, reason }, 'net.tcp session ended by the service');
      ep.close(orderly ? SessionCloseCode.Ended : SessionCloseCode.ServiceUnavailable, (reason ?? '').slice(0, 120));
    };
    const closed = new Promise<void>((resolve) =>
      ep.on('closed', () => {
        this.#active.delete(handle);
        if (!over) {
          over = true;
          // The client's End: End to the service; anything else (client or relay gone): drop it.
          if (peerCode === SessionCloseCode.Ended) void session.end().catch(() => undefined);
          else session.abort();
          log.info({ code: peerCode }, 'net.tcp session ended by the client');
        }
        resolve();
      }),
    );
    ep.start();
    await closed;
  }
}
