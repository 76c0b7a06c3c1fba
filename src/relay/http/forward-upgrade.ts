/**
 * A WebSocket upgrade passed on, byte for byte, to another relay node: a rendezvous that a load
 * balancer sent to a node other than the one that minted it (relay/cluster). The request head is
 * written again as received (plus a mark, so it is never passed on twice), then both sockets are
 * piped until either side closes. The node that minted the rendezvous checks it as usual.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { writeHttpError } from './raw-response';

/** Set on an upgrade this node passed on: the receiving node answers it itself, never passes it on again. */
export const FORWARDED_HEADER = 'x-relaybridge-forwarded-by';

/** Time to connect to the other node, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface ForwardUpgradeOptions {
  /** http(s)://host:port of the node to pass the upgrade to. */
  readonly to: string;
  /** This node's id, sent in FORWARDED_HEADER. */
  readonly from: string;
  /** Connected to the other node, the request passed on. */
  readonly onConnected: () => void;
  /** The other node could not be reached, or the connection to it failed. */
  readonly onError: (err: Error) => void;
}

/** The request head as received, with FORWARDED_HEADER added, ready to write to the other node. */
export function forwardedHead(req: IncomingMessage, from: string): string {
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === FORWARDED_HEADER) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  lines.push(`${FORWARDED_HEADER}: ${from.replace(/[^\x21-\x7e]/g, '_')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, o: ForwardUpgradeOptions): void {
  const url = new URL(o.to);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const upstream = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
  let connected = false;
  const timer = setTimeout(() => upstream.destroy(new Error(`no connection to ${o.to} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
  timer.unref();
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    connected = true;
    clearTimeout(timer);
    upstream.write(forwardedHead(req, o.from));
    if (head.length) upstream.write(head);
    o.onConnected();
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', (err) => {
    clearTimeout(timer);
    o.onError(err);
    if (!connected) writeHttpError(socket, 502, 'Bad Gateway', 'The relay node that holds this rendezvous could not be reached.');
    else socket.destroy();
  });
  upstream.on('close', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  socket.on('error', () => upstream.destroy());
}
