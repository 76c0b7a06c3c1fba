/**
 * The benchmarks' load generator (bench/load.ts) with real wrk: the requests wrk sends are the
 * ones asked for (method, headers, body bytes of every value, a fresh MessageID per request), and
 * its counts agree with what the server saw. A benchmark is only as good as the load it sends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BODY_UUID, parseWrk, runLeanHttpLoad, runLoad, wrkScript } from '../../bench/load';
import { requirePeer } from '../helpers/exec';

const wrk = requirePeer(['wrk'], 'apt-get install wrk');
const maybe = wrk ? describe : describe.skip;
if (!wrk) console.warn('wrk is not installed: bench-load tests skipped (Debian: apt-get install wrk)');

interface Seen {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

async function server(status = 200, chunked = false): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (seen.length < 50_000) seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      if (chunked) {
        res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.write('o');
        setImmediate(() => res.end('k'));
      } else res.writeHead(status, { 'Content-Length': '2' }).end('ok');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/load`,
    seen,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

describe('wrk output', () => {
  it('reads calls, percentiles in every unit, and errors', () => {
    const out = [
      'Running 1s test @ http://127.0.0.1:1/',
      '  Latency Distribution',
      '     50%  812.00us',
      '     75%    1.20ms',
      '     90%    2.00ms',
      '     99%    1.50s',
      '  1234 requests in 1.00s, 100.00KB read',
      '  Socket errors: connect 1, read 2, write 3, timeout 4',
      '  Non-2xx or 3xx responses: 5',
      'Requests/sec:   1234.00',
    ].join('\n');
    expect(parseWrk(out)).toEqual({ requests: 1234, callsPerSecond: 1234, p50Us: 812, p99Us: 1.5e6, errors: 15 });
  });

  it('refuses a unique id that is not in the body', () => {
    expect(() => wrkScript({ method: 'POST', body: Buffer.from('no id here'), uniqueInBody: BODY_UUID })).toThrow(/does not occur/);
  });
});

maybe('bench load generator with wrk', () => {
  it('sends the method, headers and every byte of the body; counts what the server answered', async () => {
    const s = await server();
    try {
      // Every byte value, and digits right after escaped bytes (Lua's decimal escapes take up to 3).
      const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\n123"\\9')]);
      const r = await runLoad({ url: s.url, method: 'PUT', headers: { 'X-Test': 'a "quoted" \\ value', 'Content-Type': 'application/octet-stream' }, body, connections: 2, durationMs: 1000, warmupMs: 0 });
      expect(r.generator).toBe('wrk');
      expect(r.errors).toBe(0);
      expect(r.calls).toBeGreaterThan(0);
      // wrk counts completed responses; the server may see a few more (cut off at the end).
      expect(s.seen.length).toBeGreaterThanOrEqual(r.calls);
      expect(r.p50Us).toBeGreaterThan(0);
      for (const seen of s.seen.slice(0, 20)) {
        expect(seen.method).toBe('PUT');
        expect(seen.headers['x-test']).toBe('a "quoted" \\ value');
        expect(seen.body.equals(body)).toBe(true);
      }
    } finally {
      await s.close();
    }
  });

  it('puts a fresh id in each request when asked, the rest of the body unchanged', async () => {
    const s = await server();
    try {
      const body = Buffer.from(`<e><MessageID>urn:uuid:${BODY_UUID}</MessageID><x>${'y'.repeat(100)}</x></e>`);
      const r = await runLoad({ url: s.url, method: 'POST', body, uniqueInBody: BODY_UUID, connections: 4, durationMs: 1000, warmupMs: 0 });
      expect(r.errors).toBe(0);
      const ids = s.seen.map((x) => /urn:uuid:([0-9a-f-]{36})</.exec(x.body.toString())?.[1]);
      expect(ids.every((id) => id !== undefined && id !== BODY_UUID)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      for (const x of s.seen.slice(0, 20)) {
        expect(x.body.length).toBe(body.length);
        expect(x.body.toString().replace(/urn:uuid:[0-9a-f-]{36}/, `urn:uuid:${BODY_UUID}`)).toBe(body.toString());
      }
    } finally {
      await s.close();
    }
  });

  it('counts answers over 399 as errors, not calls', async () => {
    const s = await server(503);
    try {
      const r = await runLoad({ url: s.url, method: 'GET', connections: 1, durationMs: 1000, warmupMs: 0 });
      expect(r.calls).toBe(0);
      expect(r.errors).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});

describe('bench lean HTTP load generator (the net.tcp benchmarks\' HTTP side)', () => {
  it('sends the request asked for with a fresh id per call, and reads Content-Length and chunked answers', async () => {
    for (const chunked of [false, true]) {
      const s = await server(200, chunked);
      try {
        const body = Buffer.from(`<e><MessageID>urn:uuid:${BODY_UUID}</MessageID></e>`);
        const r = await runLeanHttpLoad({ url: s.url, method: 'POST', headers: { 'Content-Type': 'application/soap+xml' }, body, uniqueInBody: BODY_UUID, connections: 3, durationMs: 300, warmupMs: 0 });
        expect(r.errors).toBe(0);
        expect(r.calls).toBeGreaterThan(10);
        expect(s.seen.length).toBeGreaterThanOrEqual(r.calls);
        const ids = s.seen.map((x) => /urn:uuid:([0-9a-f-]{36})</.exec(x.body.toString())?.[1]);
        expect(ids.every((id) => id !== undefined && id !== BODY_UUID)).toBe(true);
        expect(new Set(ids).size).toBe(ids.length);
        expect(s.seen[0]!.headers['content-type']).toBe('application/soap+xml');
        expect(s.seen[0]!.headers['content-length']).toBe(String(body.length));
      } finally {
        await s.close();
      }
    }
  });

  it('counts an error answer as an error', async () => {
    const s = await server(500);
    try {
      const r = await runLeanHttpLoad({ url: s.url, method: 'GET', connections: 1, durationMs: 200, warmupMs: 0 });
      expect(r.calls).toBe(0);
      expect(r.errors).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
