/**
 * A session carrier the relay itself asked a listener for (protocol/hyco/session-carrier.ts):
 * like a WebSocket sender's accept, but the relay is the sender. When the listener dials the
 * accept address it gets its 101 and the relay gets a message-mode endpoint on that socket
 * (`carrier`); a reject, a timeout or a cancel fails `carrier` instead.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../../core/clock';
import { RelayError, TimeoutError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { buildServerHandshakeResponse } from '../../protocol/websocket';
import { BINARY_CARRIER, SESSION_ENCODING_HEADER, SESSION_TO_HEADER } from '../../protocol/hyco';
import { WsEndpoint } from '../../transport/ws-endpoint';
import { writeHttpError } from '../http/raw-response';

export interface PendingCarrierOptions {
  readonly id: string;
  readonly path: string;
  readonly timeoutMs: number;
  readonly maxFramePayloadBytes: number;
  readonly maxTextMessageBytes: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onSettled: (p: PendingCarrier, result: 'accepted' | 'rejected' | 'timeout' | 'gone') => void;
}

/** An open carrier: the listener's end, and what it chose (protocol/hyco/session-carrier.ts). */
export interface CarrierLink {
  readonly ep: WsEndpoint;
  /** Binary carrier: the service's address (for `To`); undefined for a text carrier. */
  readonly binaryTo: string | undefined;
}

export class PendingCarrier {
  readonly id: string;
  /** The listener's end, once it dialled; rejects on reject, timeout or cancel. */
  readonly carrier: Promise<CarrierLink>;
  readonly #o: PendingCarrierOptions;
  #timer: TimerHandle | undefined;
  #settled = false;
  #resolve!: (link: CarrierLink) => void;
  #reject!: (err: RelayError) => void;

  constructor(options: PendingCarrierOptions) {
    this.id = options.id;
    this.#o = options;
    this.carrier = new Promise<CarrierLink>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.carrier.catch(() => undefined);
    this.#timer = options.clock.setTimeout(() => {
      this.#settle('timeout');
      this.#reject(new TimeoutError('RELAY_ERR_RENDEZVOUS_TIMEOUT', 'The listener did not open the session in time.'));
    }, options.timeoutMs);
  }

  get path(): string {
    return this.#o.path;
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The listener refused the session: 410 to it; the status decides the error (503: too busy). */
  reject(listenerSocket: Duplex, status: number, description: string): void {
    if (this.#settled) return writeHttpError(listenerSocket, 404, 'Not Found', 'This rendezvous is no longer valid.');
    this.#settle('rejected');
    writeHttpError(listenerSocket, 410, 'Gone', '');
    const why = description.replace(/[\r\n]/g, ' ').slice(0, 200);
    this.#reject(
      status === 503
        ? new RelayError('RELAY_ERR_TOO_BUSY', `The agent refused the session: ${why || 'too many sessions'}.`)
        : new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `The agent could not open a session at the service: ${why || status}.`),
    );
  }

  /**
   * The listener dialled: its 101, then the endpoint is the carrier; binary when its upgrade
   * request chose that encoding and named the service's address.
   */
  accept(listenerSocket: Duplex, listenerHead: Buffer, listenerKey: string, listenerProtocol: string | undefined, headers: IncomingHttpHeaders = {}): void {
    if (this.#settled) return writeHttpError(listenerSocket, 404, 'Not Found', 'This rendezvous is no longer valid.');
    const encoding = headers[SESSION_ENCODING_HEADER];
    const to = headers[SESSION_TO_HEADER];
    const binary = encoding === BINARY_CARRIER && typeof to === 'string' && to.length > 0 && to.length <= 2048;
    if (encoding !== undefined && !binary) {
      const why = `a binary carrier needs ${SESSION_ENCODING_HEADER}: ${BINARY_CARRIER} and the service's address in ${SESSION_TO_HEADER}`;
      this.#settle('rejected');
      writeHttpError(listenerSocket, 400, 'Bad Request', `${why}.`);
      return this.#reject(new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `The agent's session carrier was malformed: ${why}.`));
    }
    this.#settle('accepted');
    listenerSocket.write(buildServerHandshakeResponse({ key: listenerKey, protocol: listenerProtocol }));
    const ep = new WsEndpoint(listenerSocket, listenerHead, {
      role: 'server',
      mode: 'messages',
      maxFramePayloadBytes: this.#o.maxFramePayloadBytes,
      maxTextMessageBytes: this.#o.maxTextMessageBytes,
      assembleBinary: true,
    });
    this.#resolve({ ep, binaryTo: binary ? (to as string) : undefined });
  }

  /** The client went away before the listener dialled. */
  cancel(): void {
    if (this.#settled) return;
    this.#settle('gone');
    this.#reject(new RelayError('RELAY_ERR_LISTENER_GONE', 'The session was given up before the listener opened it.'));
  }

  #settle(result: 'accepted' | 'rejected' | 'timeout' | 'gone'): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#o.onSettled(this, result);
  }
}
