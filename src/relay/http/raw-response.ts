/** Answers written straight to a raw socket (an upgrade request, before or instead of a 101). */
import type { Duplex } from 'node:stream';

/** Writes a complete HTTP error response on a raw upgrade socket and closes it. */
export function writeHttpError(socket: Duplex, status: number, phrase: string, body: string): void {
  if (socket.destroyed || !socket.writable) return;
  const safePhrase = phrase.replace(/[^\t\x20-\x7e]/g, ' ');
  const payload = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${safePhrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n` +
      payload.toString('utf8'),
  );
  const t = setTimeout(() => socket.destroy(), 1000);
  t.unref();
}
