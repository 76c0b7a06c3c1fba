/** Answers written straight to a raw socket (an upgrade request, before or instead of a 101). */
import type { Duplex } from 'node:stream';

/** A complete plain-text HTTP error response with `Connection: close` (and `extraHeaders`, CRLF-terminated lines). */
export function httpErrorResponse(status: number, phrase: string, body: string, extraHeaders = ''): string {
  const safePhrase = phrase.replace(/[^\t\x20-\x7e]/g, ' ');
  return (
    `HTTP/1.1 ${status} ${safePhrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n` +
    body
  );
}

/** Writes a complete HTTP error response on a raw upgrade socket and closes it. */
export function writeHttpError(socket: Duplex, status: number, phrase: string, body: string): void {
  if (socket.destroyed || !socket.writable) return;
  endSocket(socket, httpErrorResponse(status, phrase, body));
}

/** Writes the last bytes and ends the socket; a peer that never reads them does not keep it (1 s). */
export function endSocket(socket: Duplex, last: string | Buffer): void {
  socket.end(last);
  const t = setTimeout(() => socket.destroy(), 1000);
  t.unref();
}
