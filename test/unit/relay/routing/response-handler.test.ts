/**
 * The ResponseHandler adapters (src/relay/routing/response-handler.ts): ServerResponseHandler on
 * a real node:http server on 127.0.0.1, and BufferingHandler.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayError, TimeoutError } from '../../../../src/core/errors';
import { writeJsonError } from '../../../../src/relay/http/json-error';
import { BufferingHandler, ServerResponseHandler } from '../../../../src/relay/routing/response-handler';

/** Serves one request with `serve`, returns what a client saw (or the client's error). */
async function roundTrip(serve: (res: http.ServerResponse) => void): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string }> {
  const server = http.createServer((_req, res) => serve(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ status: res.statusCode, error: err.message }));
        res.on('aborted', () => resolve({ status: res.statusCode, error: 'aborted' }));
      });
      req.on('error', (err) => resolve({ error: err.message }));
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('ServerResponseHandler', () => {
  it('writes the status, reason, headers and a whole body', async () => {
    const got = await roundTrip((res) => {
      const h = new ServerResponseHandler(res, writeJsonError);
      h.onStart(201, 'Made', { 'Content-Type': 'text/plain', 'Content-Length': '5', Via: '1.1 relay' }, false);
      h.onData(Buffer.from('hello'), () => undefined);
      h.onEnd();
    });
    expect(got).toMatchObject({ status: 201, body: 'hello', headers: { 'content-type': 'text/plain', 'content-length': '5', via: '1.1 relay' } });
  });

  it('streams a body of unknown length chunked, with back-pressure through resume()', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    let paused = 0;
    const got = await roundTrip((res) => {
      const h = new ServerResponseHandler(res, writeJsonError);
      h.onStart(200, 'OK', { 'Content-Type': 'application/octet-stream' }, true);
      let sent = 0;
      const pump = (): void => {
        while (sent < 4) {
          sent++;
          if (!h.onData(big, pump)) {
            paused++;
            return;
          }
        }
        h.onEnd();
      };
      pump();
    });
    expect(got.headers?.['transfer-encoding']).toBe('chunked');
    expect(got.body?.length).toBe(4 * big.length);
    expect(paused).toBeGreaterThan(0);
  });

  it('before the start, an error is written by the error writer and reported with its status', async () => {
    let reported: number | undefined;
    let after = 0;
    const got = await roundTrip((res) => {
      const h = new ServerResponseHandler(res, writeJsonError, () => after++);
      reported = h.onError(new TimeoutError('RELAY_ERR_LISTENER_TIMEOUT', 'slow'), false);
    });
    expect(got.status).toBe(504);
    expect(JSON.parse(got.body!)).toEqual({ error: { code: 'GatewayTimeout', message: 'slow', relayCode: 'RELAY_ERR_LISTENER_TIMEOUT' } });
    expect(reported).toBe(504);
    expect(after).toBe(1);
  });

  it('after the start, an error cuts the response: never a truncated success', async () => {
    const got = await roundTrip((res) => {
      const h = new ServerResponseHandler(res, writeJsonError);
      h.onStart(200, 'OK', { 'Content-Type': 'text/plain' }, true);
      h.onData(Buffer.from('partial'), () => undefined);
      setTimeout(() => h.onError(new RelayError('RELAY_ERR_LISTENER_GONE', 'gone'), true), 20);
    });
    expect(got.status).toBe(200);
    expect(got.error).toBeDefined();
    expect(got.body).toBeUndefined();
  });
});

describe('BufferingHandler', () => {
  it('collects the response with lower-cased header names', async () => {
    const h = new BufferingHandler();
    h.onStart(200, 'OK', { 'Content-Type': 'text/xml' });
    h.onData(Buffer.from('<a'));
    h.onData(Buffer.from('/>'));
    h.onEnd();
    await expect(h.response).resolves.toEqual({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from('<a/>') });
  });

  it('throws its limit error past maxBytes, and rejects with the error it is failed with', async () => {
    const h = new BufferingHandler({ maxBytes: 3, errorStatus: 500 });
    h.onStart(200, 'OK', {});
    expect(() => h.onData(Buffer.from('abcd'))).toThrow(expect.objectContaining({ code: 'RELAY_ERR_BODY_TOO_LARGE' }));
    expect(h.onError(new RelayError('RELAY_ERR_NO_LISTENER', 'none'))).toBe(500);
    await expect(h.response).rejects.toMatchObject({ code: 'RELAY_ERR_NO_LISTENER' });
  });
});
