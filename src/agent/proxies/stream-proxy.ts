/**
 * Service proxies for WebSocket senders: each accepted connection is piped to a local TCP
 * port (bytes both ways; every chunk a binary message) or to a local WebSocket server
 * (messages both ways, text stays text). Back-pressure both ways; close both ways.
 */
import net from 'node:net';
import WebSocket from 'ws';
import type { Logger } from '../../core/logger';
import type { WsEndpoint } from '../../transport/ws-endpoint';
import { pump } from '../../core/pump';

export interface StreamTarget {
  /** Opens the local side; resolves once it is connected. */
  open(protocol: string | undefined): Promise<LocalStream>;
}

export interface LocalStream {
  /** Wires the local side to the rendezvous endpoint. */
  pipe(ep: WsEndpoint, log: Logger): void;
  destroy(): void;
}

export function tcpTarget(host: string, port: number): StreamTarget {
  return {
    open: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host, port });
        socket.setNoDelay(true);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve({
            destroy: () => socket.destroy(),
            pipe: (ep, log) => {
              pump(socket, (f: (c: Buffer) => void) => socket.on('data', f), (chunk) => ep.sendBinary(chunk), ep);
              socket.on('end', () => ep.close(1000, 'local end closed'));
              socket.on('error', (err) => {
                log.debug({ err: err.message }, 'local TCP error');
                ep.close(1011, 'local connection failed');
              });
              const toSocket = (data: Buffer) => socket.write(data);
              pump(ep, (f: (d: Buffer) => void) => ep.on('binaryData', f), toSocket, socket);
              pump(ep, (f: (t: string) => void) => ep.on('text', f), (t) => toSocket(Buffer.from(t, 'utf8')), socket);
              ep.on('closed', () => socket.end());
            },
          });
        });
        socket.once('error', reject);
      }),
  };
}

export function wsTarget(url: string): StreamTarget {
  return {
    open: (protocol) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, protocol ? [protocol] : [], { perMessageDeflate: false });
        ws.once('open', () => {
          ws.off('error', reject);
          resolve({
            destroy: () => ws.terminate(),
            pipe: (ep, log) => {
              ws.on('message', (data, isBinary) => {
                const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
                if (isBinary) ep.sendBinary(buf);
                else ep.sendText(buf.toString('utf8'));
              });
              ws.on('close', (code, reason) => ep.close(code === 1005 || code === 1006 ? 1000 : code, reason.toString()));
              ws.on('error', (err) => log.debug({ err: err.message }, 'local WebSocket error'));
              let parts: Buffer[] = [];
              ep.on('text', (t) => ws.send(t));
              ep.on('binaryStart', () => (parts = []));
              ep.on('binaryData', (d) => parts.push(Buffer.from(d)));
              ep.on('binaryEnd', () => ws.send(Buffer.concat(parts), { binary: true }));
              ep.on('closeFrame', (code, reason) => {
                try {
                  ws.close(code ?? 1000, reason);
                } catch {
                  ws.close();
                }
              });
              ep.on('closed', () => {
                if (ws.readyState === ws.OPEN) ws.close(1000);
              });
            },
          });
        });
        ws.once('error', reject);
      }),
  };
}
