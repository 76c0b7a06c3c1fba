/** One HTTP request from the CLI (node:http/https, so `--ca` can be given), body as text. */
import http from 'node:http';
import https from 'node:https';

export class NetworkFailure extends Error {
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(`${(cause as Error)?.message ?? String(cause)} (${url})`, { cause });
    this.url = url;
  }
}

export interface HttpAnswer {
  status: number;
  text: string;
}

export function httpRequest(url: string, o: { method: string; headers?: Record<string, string>; body?: string; ca?: string; timeoutMs?: number }): Promise<HttpAnswer> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      u,
      { method: o.method, headers: { ...o.headers, ...(o.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(o.body)) } : {}) }, ...(o.ca ? { ca: o.ca } : {}), timeout: o.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(new NetworkFailure(url, err)));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(new NetworkFailure(url, err)));
    req.end(o.body);
  });
}
