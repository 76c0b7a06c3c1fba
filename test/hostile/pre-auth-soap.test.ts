/**
 * Unauthenticated SOAP callers cost almost nothing: a caller with no transport token on an entity
 * that requires one gets only a bounded head of its body read (limits.preAuthSoapHeadBytes,
 * decoded, with a decompression-ratio cap) to find a RelayAccessToken; compression bombs are
 * refused without being inflated, slow bodies get 408 at an absolute deadline, and callers that
 * have not authorized are capped per address and in all (trustedProxies decides the address).
 * Real relay + agent; the hostile side is raw `net` sockets.
 */
import net from 'node:net';
import zlib from 'node:zlib';
import { Harness, request, token, waitFor } from '../helpers/harness';
import { SOAP11_NS } from '../helpers/soap';
import type { RelayServer } from '../../src/relay/relay-server';

const RELAY_CONNECT_NS = 'http://schemas.microsoft.com/netservices/2009/05/servicebus/connect';
const HEAD = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP11_NS}"><s:Header>`;

function relayAccessToken(tok: string): string {
  return (
    `<RelayAccessToken xmlns="${RELAY_CONNECT_NS}"><wsse:BinarySecurityToken xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ` +
    `EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${Buffer.from(tok).toString('base64')}</wsse:BinarySecurityToken></RelayAccessToken>`
  );
}

const envelope = (header: string, text: string): string =>
  `${HEAD}${header}</s:Header><s:Body><Echo xmlns="http://example.org/calc"><text>${text}</text></Echo></s:Body></s:Envelope>`;

interface RawResult {
  /** Everything the relay wrote. */
  text: string;
  /** Body bytes the client managed to hand to its socket before the relay closed it. */
  written: number;
  total: number;
}

/**
 * Sends a request head and then `body` in 64 KiB writes (respecting backpressure), until all is
 * written or the relay closes the connection; resolves once the socket is closed.
 */
function rawPost(url: string, path: string, headers: Record<string, string>, body: Buffer, o: { trickleMs?: number } = {}): Promise<RawResult> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let written = 0;
    let closed = false;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      resolve({ text: Buffer.concat(chunks).toString('latin1'), written, total: body.length });
    });
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Length: ${body.length}\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n';
    socket.write(head);
    const step = o.trickleMs ? 1 : 64 * 1024;
    const pump = (): void => {
      while (!closed && written < body.length) {
        const piece = body.subarray(written, written + step);
        written += piece.length;
        const ok = socket.write(piece);
        if (o.trickleMs) return void setTimeout(pump, o.trickleMs);
        if (!ok) return void socket.once('drain', pump);
      }
    };
    pump();
  });
}

const SOAP11_HEADERS = { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://example.org/calc/ICalculator/Echo"' };
const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const headerOf = (text: string, name: string): string | undefined => new RegExp(`\\r\\n${name}: ([^\\r]*)`, 'i').exec(text)?.[1];

/** A gzip stream of `members` members: the envelope head, then 64 MiB of 'a' each (≈65 KB). */
function gzipBomb(members: number): Buffer {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 'a'), { level: 9 });
  return Buffer.concat([zlib.gzipSync(Buffer.from(`${HEAD}<x>`)), ...Array.from({ length: members }, () => bomb)]);
}

async function echoAgent(h: Harness, relay: RelayServer): Promise<void> {
  const service = await h.httpService((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      res.setHeader('Content-Type', 'text/xml; charset=utf-8');
      res.end(`<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><EchoResponse xmlns="http://example.org/calc"><EchoResult>${body.length}:${body.includes('RelayAccessToken')}</EchoResult></EchoResponse></s:Body></s:Envelope>`);
    });
  });
  const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: `${service.url}/calc`, soapVersion: '1.1' } }]);
  await agent.whenReady();
}

describe('a SOAP POST without a transport token reads only a bounded head', () => {
  const h = new Harness();
  let relay: RelayServer;
  let bomb: Buffer;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'calc' }] });
    await echoAgent(h, relay);
    bomb = gzipBomb(256); // ≈16 MiB on the wire, 16 GiB decoded
  }, 60_000);
  afterAll(() => h.close());

  it('refuses a gzip bomb with 401 (SAS_MISSING) and closes the connection long before it is all sent', async () => {
    const r = await rawPost(relay.url, '/calc', { ...SOAP11_HEADERS, 'Content-Encoding': 'gzip' }, bomb);
    expect(statusOf(r.text)).toBe(500);
    expect(headerOf(r.text, 'Relaybridge-Error')).toBe('RELAY_ERR_SAS_MISSING');
    expect(headerOf(r.text, 'Relaybridge-Status')).toBe('401');
    expect(r.text).toContain('preAuthSoapHeadBytes');
    // The relay stopped reading: most of the 16 MiB never left the client.
    expect(r.written).toBeLessThan(r.total / 2);
  }, 60_000);

  it('refuses a brotli bomb without inflating it (401, not a 400 for the inflated junk)', async () => {
    const br = zlib.brotliCompressSync(Buffer.concat([Buffer.from(`${HEAD}<x>`), Buffer.alloc(16 * 1024 * 1024, 'a')]), {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 },
    });
    expect(br.length).toBeLessThan(64 * 1024);
    const res = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...SOAP11_HEADERS, 'Content-Encoding': 'br' }, body: br });
    expect(res.status).toBe(500);
    expect(res.headers['relaybridge-error']).toBe('RELAY_ERR_SAS_MISSING');
  }, 60_000);

  it('refuses a large identity body without a token after a bounded read', async () => {
    const body = Buffer.from(envelope('', 'x'.repeat(32 * 1024 * 1024)));
    const r = await rawPost(relay.url, '/calc', SOAP11_HEADERS, body);
    expect(headerOf(r.text, 'Relaybridge-Error')).toBe('RELAY_ERR_SAS_MISSING');
    expect(r.written).toBeLessThan(r.total / 2);
  }, 60_000);

  it('still takes a RelayAccessToken in the first KiBs of a body larger than the head, and strips it', async () => {
    const text = 'y'.repeat(300 * 1024);
    const body = envelope(relayAccessToken(token(relay, 'calc')), text);
    const res = await request(`${relay.url}/calc`, { method: 'POST', headers: SOAP11_HEADERS, body });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/EchoResult>\d+:false</);
    // The same, gzip-encoded (ratio far over 100:1: the token is found in what was decoded).
    const gz = await request(`${relay.url}/calc`, { method: 'POST', headers: { ...SOAP11_HEADERS, 'Content-Encoding': 'gzip' }, body: zlib.gzipSync(body) });
    expect(gz.status).toBe(200);
    expect(gz.body.toString()).toMatch(/EchoResult>\d+:false</);
  }, 30_000);

  it('refuses a bad RelayAccessToken in the head without reading the rest', async () => {
    const bad = token(relay, 'calc').replace(/sig=[^&]+/, 'sig=AAAA');
    const r = await rawPost(relay.url, '/calc', SOAP11_HEADERS, Buffer.from(envelope(relayAccessToken(bad), 'z'.repeat(32 * 1024 * 1024))));
    expect(headerOf(r.text, 'Relaybridge-Status')).toBe('401');
    expect(r.written).toBeLessThan(r.total / 2);
  }, 60_000);

  it('keeps small token-less bodies as they were: 401 fault with RelatesTo-capable parsing', async () => {
    const res = await request(`${relay.url}/calc`, { method: 'POST', headers: SOAP11_HEADERS, body: envelope('', 'hi') });
    expect(res.status).toBe(500);
    expect(res.headers['relaybridge-error']).toBe('RELAY_ERR_SAS_MISSING');
  });
});

describe('an unauthorized body has an absolute deadline', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'calc' }], limits: { preAuthBodyTimeoutMs: 500, bodyIdleTimeoutMs: 600_000 } });
    await echoAgent(h, relay);
  });
  afterAll(() => h.close());

  it('a body trickled 1 byte per 100 ms (never idle) gets 408 and its connection closed', async () => {
    const body = Buffer.from(envelope('', 'x'.repeat(100 * 1024)));
    const r = await rawPost(relay.url, '/calc', SOAP11_HEADERS, body, { trickleMs: 100 });
    expect(headerOf(r.text, 'Relaybridge-Error')).toBe('RELAY_ERR_BODY_TIMEOUT');
    expect(headerOf(r.text, 'Relaybridge-Status')).toBe('408');
    expect(headerOf(r.text, 'Connection')).toBe('close');
    expect(r.written).toBeLessThan(2000);
  }, 60_000);

  it('a refused request (unknown path) read for its MessageID is bounded by the same deadline', async () => {
    const body = Buffer.from(envelope('', 'x'.repeat(1024)));
    const r = await rawPost(relay.url, '/nope', SOAP11_HEADERS, body, { trickleMs: 100 });
    expect(headerOf(r.text, 'Relaybridge-Error')).toBe('RELAY_ERR_ENTITY_NOT_FOUND');
    expect(r.written).toBeLessThan(1000);
  }, 60_000);
});

/** Opens a token-less SOAP POST that sends its head and a few body bytes, then waits. */
function parked(url: string, headers: Record<string, string>): { socket: net.Socket; reply: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const reply = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1'))));
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST /calc HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Length: 100000\r\n${extra}\r\n${HEAD}`);
  return { socket, reply };
}

describe('callers that have not authorized are capped per address and in all', () => {
  const h = new Harness();
  let relay: RelayServer;
  let plain: RelayServer;
  const open: net.Socket[] = [];

  beforeAll(async () => {
    const limits = { maxUnauthenticatedPerAddress: 3, maxUnauthenticated: 5, preAuthBodyTimeoutMs: 120_000 };
    relay = await h.relay({ entities: [{ path: 'calc' }], limits, trustedProxies: ['127.0.0.1'] });
    plain = await h.relay({ entities: [{ path: 'calc' }], limits });
    await echoAgent(h, relay);
    await echoAgent(h, plain);
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await h.close();
  });

  const park = (r: RelayServer, xff?: string): Promise<string> => {
    const p = parked(r.url, { ...SOAP11_HEADERS, ...(xff ? { 'X-Forwarded-For': xff } : {}) });
    open.push(p.socket);
    return p.reply;
  };

  it('refuses the N+1th from one address with 429 + Retry-After, while an authorized caller gets through', async () => {
    for (let i = 0; i < 3; i++) void park(relay, `198.51.100.7, 10.0.0.1`);
    await waitFor(() => relay.guard.preAuthSlots.heldBy('10.0.0.1') === 3, 10_000, '3 parked');
    const refused = await park(relay, '10.0.0.1');
    expect(statusOf(refused)).toBe(429);
    expect(headerOf(refused, 'Retry-After')).toBe('1');
    expect(headerOf(refused, 'Relaybridge-Error')).toBe('RELAY_ERR_UNAUTHENTICATED_LIMIT');
    // Authorized in the transport: never counted, never refused.
    const ok = await request(`${relay.url}/calc`, {
      method: 'POST',
      headers: { ...SOAP11_HEADERS, ServiceBusAuthorization: token(relay, 'calc'), 'X-Forwarded-For': '10.0.0.1' },
      body: envelope('', 'hello'),
    });
    expect(ok.status).toBe(200);
  }, 30_000);

  it('counts by the rightmost untrusted X-Forwarded-For hop, and caps everyone together', async () => {
    // Another address still has room …
    void park(relay, '10.0.0.2');
    void park(relay, '10.0.0.3, 127.0.0.1'); // a trusted hop on the right is skipped
    await waitFor(() => relay.guard.preAuthSlots.inUse === 5, 10_000, '5 parked');
    expect(relay.guard.preAuthSlots.heldBy('10.0.0.3')).toBe(1);
    // … until the global cap.
    const refused = await park(relay, '10.0.0.4');
    expect(statusOf(refused)).toBe(429);
  }, 30_000);

  it('ignores X-Forwarded-For without trustedProxies', async () => {
    for (let i = 0; i < 3; i++) void park(plain, `10.9.9.${i}`);
    await waitFor(() => plain.guard.preAuthSlots.heldBy('127.0.0.1') === 3, 10_000, '3 parked');
    expect(statusOf(await park(plain, '10.9.9.9'))).toBe(429);
  }, 30_000);

  it('gives slots back when parked callers go away', async () => {
    for (const s of open) s.destroy();
    await waitFor(() => relay.guard.preAuthSlots.inUse === 0 && plain.guard.preAuthSlots.inUse === 0, 10_000, 'slots released');
  }, 30_000);
});
