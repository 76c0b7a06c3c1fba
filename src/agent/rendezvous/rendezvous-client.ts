/**
 * Opens a rendezvous WebSocket to an address the relay handed out (accept or request),
 * as a raw frame-level client, so bodies stream both ways without being buffered whole.
 */
import http from 'node:http';
import https from 'node:https';
import { ProtocolError, RelayError } from '../../core/errors';
import { computeAcceptKey, generateClientKey } from '../../protocol/websocket';
import { WsEndpoint } from '../../transport/ws-endpoint';

export interface RendezvousOptions {
  mode: 'frames' | 'messages';
  protocol?: string;
  ca?: string;
  rejectUnauthorized?: boolean;
  timeoutMs: number;
  maxFramePayloadBytes: number;
  /** Extra upgrade request headers (a binary session carrier's encoding and service address). */
  headers?: Record<string, string>;
  /** Messages mode: emit binary messages whole, within maxFramePayloadBytes (WsEndpointOptions.assembleBinary). */
  assembleBinary?: boolean;
  /** The agent for the connection (an HTTP proxy's CONNECT tunnel); none: a direct one. */
  agent?: http.Agent;
}

function requestFor(address: string, headers: Record<string, string>, o: Pick<RendezvousOptions, 'ca' | 'rejectUnauthorized' | 'timeoutMs' | 'agent'>) {
  const url = new URL(address.replace(/^ws/i, 'http'));
  const mod = url.protocol === 'https:' ? https : http;
  return mod.request(url, {
    method: 'GET',
    headers,
    agent: o.agent ?? false,
    timeout: o.timeoutMs,
    ...(url.protocol === 'https:' ? { ca: o.ca, rejectUnauthorized: o.rejectUnauthorized ?? true } : {}),
  });
}

export function openRendezvous(address: string, o: RendezvousOptions): Promise<WsEndpoint> {
  const key = generateClientKey();
  const headers: Record<string, string> = {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': key,
  };
  if (o.protocol) headers['Sec-WebSocket-Protocol'] = o.protocol;
  Object.assign(headers, o.headers);
  return new Promise((resolve, reject) => {
    const req = requestFor(address, headers, o);
    req.on('upgrade', (res, socket, head) => {
      if (res.headers['sec-websocket-accept'] !== computeAcceptKey(key)) {
        socket.destroy();
        reject(new ProtocolError('RELAY_ERR_PROTOCOL_WS_FRAME', 'rendezvous handshake: bad Sec-WebSocket-Accept'));
        return;
      }
      socket.setNoDelay(true);
      resolve(
        new WsEndpoint(socket, head, {
          role: 'client',
          mode: o.mode,
          maxFramePayloadBytes: o.maxFramePayloadBytes,
          ...(o.assembleBinary ? { assembleBinary: true, maxTextMessageBytes: o.maxFramePayloadBytes } : {}),
        }),
      );
    });
    req.on('response', (res) => {
      res.resume();
      reject(new RelayError('RELAY_ERR_RENDEZVOUS_UNKNOWN', `rendezvous refused: ${res.statusCode} ${res.statusMessage ?? ''}`));
    });
    req.on('timeout', () => req.destroy(new RelayError('RELAY_ERR_RENDEZVOUS_TIMEOUT', 'rendezvous connect timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Rejects an accept: the relay answers 410 Gone and gives the sender our status (§3.1). */
export function rejectRendezvous(
  address: string,
  status: number,
  description: string,
  o: Pick<RendezvousOptions, 'ca' | 'rejectUnauthorized' | 'timeoutMs' | 'agent'>,
): Promise<number> {
  const url = `${address}&sb-hc-statusCode=${status}&sb-hc-statusDescription=${encodeURIComponent(description)}`;
  return new Promise((resolve, reject) => {
    const req = requestFor(url, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': generateClientKey(),
    }, o);
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('timeout', () => req.destroy(new RelayError('RELAY_ERR_RENDEZVOUS_TIMEOUT', 'reject timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** How every rendezvous of one channel is dialled: TLS trust, the proxy, the time allowed, frame bounds. */
export interface DialOptions {
  readonly ca?: string;
  readonly rejectUnauthorized: boolean;
  readonly timeoutMs: number;
  readonly agent?: http.Agent;
  readonly maxFramePayloadBytes: number;
}

/** Opens or rejects rendezvous addresses with one channel's dial options. */
export class RendezvousDialer {
  readonly #o: DialOptions;

  constructor(options: DialOptions) {
    this.#o = options;
  }

  /** A rendezvous WebSocket; `headers` (a session carrier's) also make its binary messages arrive whole. */
  open(address: string, mode: 'frames' | 'messages', protocol?: string, headers?: Record<string, string>): Promise<WsEndpoint> {
    return openRendezvous(address, { ...this.#o, mode, protocol, headers, assembleBinary: headers !== undefined });
  }

  /** Refuses an accept on its rendezvous address with `status` and a reason; resolves with the relay's answer status. */
  reject(address: string, status: number, description: string): Promise<number> {
    return rejectRendezvous(address, status, description, this.#o);
  }
}

/** `host:port` of a rendezvous address (the scheme's default port when it names none). */
export function rendezvousHostPort(address: string): string {
  try {
    const url = new URL(address);
    const port = url.port || (/^(wss|https):$/i.test(url.protocol) ? '443' : '80');
    return `${url.hostname}:${port}`;
  } catch {
    return 'an invalid address';
  }
}
