/**
 * Tarpit (src/relay/guard/tarpit.ts): a refused caller gets its answer at once; its connection
 * is closed after holdMs (a manual clock), at once when it hangs up, when it sends too much, or
 * when the tarpit is full or off. Real loopback sockets.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Tarpit } from '../../../../src/relay/guard/tarpit';
import { ManualClock } from '../routing/fakes';

interface Pair {
  server: net.Socket;
  client: net.Socket;
  received: () => string;
  closed: Promise<void>;
}

describe('Tarpit', () => {
  let listener: net.Server;
  const accepted: net.Socket[] = [];
  const all: net.Socket[] = [];

  beforeAll(async () => {
    listener = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  });
  afterEach(() => {
    for (const s of all.splice(0)) s.destroy();
  });
  afterAll(() => new Promise<void>((r) => listener.close(() => r())));

  async function pair(): Promise<Pair> {
    const before = accepted.length;
    const client = net.connect((listener.address() as AddressInfo).port, '127.0.0.1');
    let text = '';
    client.on('data', (c: Buffer) => (text += c.toString()));
    client.on('error', () => undefined);
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    await new Promise<void>((r) => client.once('connect', () => r()));
    while (accepted.length === before) await new Promise((r) => setTimeout(r, 5));
    const server = accepted[accepted.length - 1]!;
    all.push(client, server);
    return { server, client, received: () => text, closed };
  }

  const RESPONSE = 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno';
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(cond()).toBe(true);
  };

  it('answers at once and keeps the connection open until holdMs', async () => {
    const clock = new ManualClock();
    const tarpit = new Tarpit({ holdMs: 10_000, maxHeld: 10, clock });
    const p = await pair();
    tarpit.refuse(p.server, RESPONSE);
    await until(() => p.received() === RESPONSE);
    expect(tarpit.size).toBe(1);
    expect(p.client.destroyed).toBe(false);
    expect(clock.fireNext()).toBe(10_000);
    await p.closed;
    await until(() => tarpit.size === 0);
  });

  it('lets go at once when the caller hangs up (a real client told Connection: close)', async () => {
    const tarpit = new Tarpit({ holdMs: 10_000, maxHeld: 10, clock: new ManualClock() });
    const p = await pair();
    tarpit.refuse(p.server, RESPONSE);
    await until(() => p.received() === RESPONSE);
    p.client.end();
    await until(() => tarpit.size === 0);
    expect(p.server.destroyed).toBe(true);
  });

  it('closes a held caller that keeps sending (past maxInputBytes)', async () => {
    const tarpit = new Tarpit({ holdMs: 10_000, maxHeld: 10, clock: new ManualClock(), maxInputBytes: 1024 });
    const p = await pair();
    tarpit.refuse(p.server, RESPONSE);
    p.client.write(Buffer.alloc(4096, 0x61));
    await p.closed;
    expect(tarpit.size).toBe(0);
  });

  it('closes at once when full or off, and close() lets every held socket go', async () => {
    const clock = new ManualClock();
    const tarpit = new Tarpit({ holdMs: 10_000, maxHeld: 1, clock });
    const held = await pair();
    const overflow = await pair();
    tarpit.refuse(held.server, RESPONSE);
    tarpit.refuse(overflow.server, RESPONSE);
    await overflow.closed;
    expect(overflow.received()).toBe(RESPONSE);
    expect(tarpit.size).toBe(1);
    const off = new Tarpit({ holdMs: 0, maxHeld: 10, clock });
    const p = await pair();
    off.refuse(p.server, RESPONSE);
    await p.closed;
    tarpit.close();
    await held.closed;
    expect(tarpit.size).toBe(0);
  });
});
