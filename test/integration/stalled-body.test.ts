/**
 * A caller that stops sending its request body half way (a stalled or slowloris client) gets an
 * answer after limits.bodyIdleTimeoutMs, in its own protocol's form, and its connection is
 * closed; the relay keeps serving everyone else meanwhile.
 */
import net from 'node:net';
import { Harness, request } from '../helpers/harness';
import { post11, SOAP11_NS } from '../helpers/soap';
import type { RelayServer } from '../../src/relay/relay-server';

/** Sends a request head and part of its body, then nothing; resolves with all the relay wrote once it closes. */
function stall(url: string, head: string, partialBody: string): Promise<{ text: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head + partialBody));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), closedAfterMs: Date.now() - started }));
    socket.on('error', reject);
  });
}

describe('a request body that stops arriving', () => {
  const h = new Harness();
  let relay: RelayServer;

  beforeAll(async () => {
    relay = await h.relay({
      entities: [{ path: 'calc', requiresClientAuthorization: false }],
      limits: { bodyIdleTimeoutMs: 300 },
    });
    const service = await h.httpService((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'text/xml; charset=utf-8');
        res.end(`<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><AddResponse xmlns="http://example.org/calc"><AddResult>5</AddResult></AddResponse></s:Body></s:Envelope>`);
      });
    });
    const agent = await h.agent(relay, [{ path: 'calc', target: { type: 'http', url: `${service.url}/calc`, soapVersion: '1.1' } }]);
    await agent.whenReady();
  });
  afterAll(() => h.close());

  const envelope = `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><Add xmlns="http://example.org/calc"><a>2</a><b>3</b></Add></s:Body></s:Envelope>`;

  it('SOAP: a fault (HTTP 500 as WCF expects, Relaybridge-Status 408), then the connection is closed; other callers are served meanwhile', async () => {
    const head = `POST /calc HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "http://example.org/calc/ICalculator/Add"\r\nContent-Length: ${envelope.length}\r\n\r\n`;
    const stalled = stall(relay.url, head, envelope.slice(0, 40));
    const ok = await post11(`${relay.url}/calc`, 'http://example.org/calc/ICalculator/Add', '<Add xmlns="http://example.org/calc"><a>2</a><b>3</b></Add>');
    expect(ok.status).toBe(200);
    const { text } = await stalled;
    expect(text).toMatch(/^HTTP\/1\.1 500 /);
    expect(text).toMatch(/\r\nrelaybridge-status: 408\r\n/i);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('RELAY_ERR_BODY_TIMEOUT');
    expect(text).toContain(':Fault>');
  });

  it('a caller refused before its body (unknown path) that then stalls still gets its fault', async () => {
    const head = `POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "x"\r\nContent-Length: ${envelope.length}\r\n\r\n`;
    const { text } = await stall(relay.url, head, envelope.slice(0, 40));
    expect(text).toMatch(/^HTTP\/1\.1 (404|500) /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('RELAY_ERR_ENTITY_NOT_FOUND');
  });

  it('plain HTTP: a 408 with the JSON error body, then the connection is closed', async () => {
    const body = JSON.stringify({ hello: 'world' });
    const head = `POST /calc/api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { text } = await stall(relay.url, head, body.slice(0, 5));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('"relayCode":"RELAY_ERR_BODY_TIMEOUT"');
    const ok = await request(`${relay.url}/calc`, { method: 'POST', headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '"http://example.org/calc/ICalculator/Add"' }, body: envelope });
    expect(ok.status).toBe(200);
  });
});

describe('management API: a stalled body, and callers without Manage', () => {
  const h = new Harness();
  let relay: RelayServer;
  beforeAll(async () => {
    relay = await h.relay({ limits: { bodyIdleTimeoutMs: 300 } });
  });
  afterAll(() => h.close());

  it('a PUT whose body stops arriving gets 408 and its connection is closed', async () => {
    const body = JSON.stringify({ requiresClientAuthorization: false });
    const head = `PUT /$management/hybridconnections/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { text } = await stall(relay.url, head, body.slice(0, 3));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('RequestTimeout');
  });
});

describe('the unread rest of a refused request body', () => {
  const h = new Harness();
  let relay: RelayServer;
  beforeAll(async () => {
    relay = await h.relay({ entities: [{ path: 'small', requiresClientAuthorization: false }], limits: { maxSoapEnvelopeBytes: 4096 } });
  });
  afterAll(() => h.close());

  it('is dropped up to a bound, then the connection closes; the caller has its fault first', async () => {
    const { hostname, port } = new URL(relay.url);
    const declared = 512 * 1024 * 1024;
    const result = await new Promise<{ text: string; sent: number }>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      let sent = 0;
      let open = true;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (open && sent < declared) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', () => undefined); // the relay closes while we write: expected
      socket.on('close', () => {
        open = false;
        resolve({ text: Buffer.concat(chunks).toString('utf8'), sent });
      });
      socket.write(`POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "x"\r\nContent-Length: ${declared}\r\n\r\n`);
      pump();
    });
    expect(result.text).toContain('RELAY_ERR_BODY_TOO_LARGE');
    expect(result.sent).toBeLessThan(64 * 1024 * 1024); // not the whole 512 MiB
  });

  it('a small unread rest is dropped and the connection carries the next request', async () => {
    const { hostname, port } = new URL(relay.url);
    const big = `<s:Envelope xmlns:s="${SOAP11_NS}"><s:Body><x>${'y'.repeat(8000)}</x></s:Body></s:Envelope>`;
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks).toString('utf8');
        if ((all.match(/HTTP\/1\.1 /g) ?? []).length === 2 && all.trimEnd().endsWith('Envelope>')) {
          socket.end();
          resolve(all);
        }
      });
      socket.on('error', reject);
      const request = `POST /small HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: "x"\r\nContent-Length: ${big.length}\r\n\r\n${big}`;
      socket.write(request + request);
    });
    expect(text.match(/HTTP\/1\.1 500 /g)).toHaveLength(2); // two faults on one connection
    expect(text).toContain('RELAY_ERR_BODY_TOO_LARGE');
  });
});
