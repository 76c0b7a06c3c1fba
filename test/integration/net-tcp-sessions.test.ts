/**
 * net.tcp sessions through the relay: one client session, one service session. Our net.tcp
 * client (src/protocol codecs) → relay net.tcp endpoint → a session carrier → the agent's
 * `nettcp` target → a sessionful duplex service (test/helpers/net-tcp-service.ts), over real
 * sockets. Every scenario is also run straight against the service, and the results compared.
 */
import { encodeEnd } from '../../src/protocol/nmf';
import type { RelayServer } from '../../src/relay/relay-server';
import { parseFault } from '../../src/protocol/soap/fault';
import { Harness, request, token, waitFor } from '../helpers/harness';
import { NetTcpClient } from '../helpers/net-tcp-client';
import { answerEnvelope, callbackAction, sessionAction, sessionService, SESSION_NS, textOf, type SessionServiceStats } from '../helpers/net-tcp-service';

const inc = (c: NetTcpClient): Promise<number> => c.request(sessionAction('Increment'), `<Increment xmlns="${SESSION_NS}"/>`).then((x) => Number(textOf(x, 'IncrementResult')));
const sid = (c: NetTcpClient): Promise<string> => c.request(sessionAction('SessionId'), `<SessionId xmlns="${SESSION_NS}"/>`).then((x) => textOf(x, 'SessionIdResult'));

describe.each(['binary', 'text'] as const)('net.tcp sessions through the relay (%s carrier)', (carrier) => {
  const h = new Harness();
  let relay: RelayServer;
  let service: { url: string; stats: SessionServiceStats };
  const clients: NetTcpClient[] = [];

  /** A session through the relay, or straight to the service. */
  async function open(direct = false, path = 'sessions'): Promise<NetTcpClient> {
    const port = direct ? Number(new URL(service.url.replace(/^net\.tcp/, 'http')).port) : relay.netTcp!.port;
    const c = await NetTcpClient.connect({ port });
    clients.push(c);
    await c.open(direct ? service.url : `${relay.netTcp!.url}/${path}`);
    return c;
  }

  beforeAll(async () => {
    service = await sessionService(h);
    relay = await h.relay({
      netTcp: { port: 0, host: '127.0.0.1' },
      entities: [
        { path: 'sessions', requiresClientAuthorization: false },
        { path: 'sessions-auth', requiresClientAuthorization: true },
        { path: 'shared', requiresClientAuthorization: false },
      ],
    });
    const agent = await h.agent(relay, [
      { path: 'sessions', target: { type: 'nettcp', url: service.url, carrier } },
      { path: 'sessions-auth', target: { type: 'nettcp', url: service.url, carrier } },
      { path: 'shared', target: { type: 'nettcp', url: service.url, shareSessions: true } },
    ]);
    await agent.whenReady();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => h.close());

  it(`the relay and the agent carry sessions as ${carrier} (binary: the client's session strings reach the service as directly)`, async () => {
    const session = async (direct: boolean): Promise<number> => {
      const before = service.stats.withSessionStrings;
      const a = await open(direct);
      for (let i = 0; i < 3; i++) await inc(a);
      await sid(a);
      return service.stats.withSessionStrings - before;
    };
    const direct = await session(true);
    const relayed = await session(false);
    expect(direct).toBeGreaterThan(0);
    // Binary: the client's StringTables go on with its messages, as they are; text: the agent's
    // writer defines strings of its own.
    if (carrier === 'binary') expect(relayed).toBe(direct);
    else expect(relayed).toBeGreaterThan(0);
  });

  it('a refused message (its strings never reach the service) leaves the session usable', async () => {
    // The first message defines the client's session strings and is refused at the relay (a bad
    // token): the service never sees them, so what follows must not lean on them.
    const c = await open(false, 'sessions-auth');
    const bad = `${token(relay, 'sessions-auth')}x`;
    const refused = parseFault(await c.request(sessionAction('Increment'), `<Increment xmlns="${SESSION_NS}"/>`, { token: bad }));
    expect(refused?.reason).toMatch(/token|signature|authoriz/i);
    const good = token(relay, 'sessions-auth');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      counts.push(Number(textOf(await c.request(sessionAction('Increment'), `<Increment xmlns="${SESSION_NS}"/>`, { token: good }), 'IncrementResult')));
    }
    expect(counts).toEqual([1, 2, 3]);
  });

  it.each([false, true])('two sessions interleaved keep their own counters and ids (direct: %s)', async (direct) => {
    const a = await open(direct);
    const b = await open(direct);
    const seenA: number[] = [];
    const seenB: number[] = [];
    for (let i = 0; i < 3; i++) {
      seenA.push(await inc(a));
      seenB.push(await inc(b));
    }
    expect(seenA).toEqual([1, 2, 3]);
    expect(seenB).toEqual([1, 2, 3]);
    const [ida, idb] = [await sid(a), await sid(b)];
    expect(ida).not.toBe(idb);
    // Stable for the session's life.
    expect(await sid(a)).toBe(ida);
  });

  it.each([false, true])('concurrent calls on concurrent sessions stay apart (direct: %s)', async (direct) => {
    const sessions = await Promise.all([open(direct), open(direct), open(direct)]);
    const counts = await Promise.all(sessions.map((c) => Promise.all([inc(c), inc(c), inc(c)])));
    for (const c of counts) expect([...c].sort()).toEqual([1, 2, 3]);
  });

  it('End ends the service session too; a new session starts from 1', async () => {
    const before = service.stats.endedByClient;
    const a = await open();
    expect(await inc(a)).toBe(1);
    expect(await inc(a)).toBe(2);
    await a.end();
    await waitFor(() => service.stats.endedByClient === before + 1, 5000, 'the service session to end');
    const c = await open();
    expect(await inc(c)).toBe(1);
  });

  it('an IsTerminating operation ends the session at the client (End from the relay)', async () => {
    const a = await open();
    expect(await inc(a)).toBe(1);
    await a.request(sessionAction('Terminate'), `<Terminate xmlns="${SESSION_NS}"/>`);
    // The relay passes the service's End on; the client answers with its End (as WCF closes its
    // output session) and may open a new session on the same socket.
    await waitFor(() => a.endsReceived === 1, 5000, 'the End');
    a.write(encodeEnd());
    await a.open(`${relay.netTcp!.url}/sessions`);
    expect(await inc(a)).toBe(1);
  });

  it.each([false, true])('a one-way callback during an operation reaches its client, and the reply still correlates (direct: %s)', async (direct) => {
    const a = await open(direct);
    const reply = await a.request(sessionAction('AddWithProgress'), `<AddWithProgress xmlns="${SESSION_NS}"><a>2</a><b>3</b></AddWithProgress>`);
    expect(textOf(reply, 'AddWithProgressResult')).toBe('5');
    expect(a.unsolicited).toHaveLength(1);
    expect(a.unsolicited[0]).toContain(callbackAction('Progress'));
    expect(textOf(a.unsolicited[0]!, 'value')).toBe('2');
  });

  it.each([false, true])('a callback after the operation returned (a timer) arrives (direct: %s)', async (direct) => {
    const a = await open(direct);
    const id = await sid(a);
    await a.request(sessionAction('NotifyLater'), `<NotifyLater xmlns="${SESSION_NS}"><ms>100</ms></NotifyLater>`);
    await waitFor(() => a.unsolicited.length === 1, 5000, 'the later callback');
    expect(textOf(a.unsolicited[0]!, 'session')).toBe(id);
  });

  it.each([false, true])('a two-way callback: the client’s answer reaches the service on the same session (direct: %s)', async (direct) => {
    const a = await open(direct);
    a.onUnsolicited = (xml) => {
      if (xml.includes(callbackAction('Question'))) a.send(answerEnvelope(xml, `answer to ${textOf(xml, 'q')}`));
    };
    const reply = await a.request(sessionAction('Ask'), `<Ask xmlns="${SESSION_NS}"><q>life</q></Ask>`);
    expect(textOf(reply, 'AskResult')).toBe('answer to life');
  });

  it('two duplex clients at once each get only their own callbacks', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const [ida, idb] = await Promise.all([sid(a), sid(b)]);
    await Promise.all([
      a.request(sessionAction('NotifyLater'), `<NotifyLater xmlns="${SESSION_NS}"><ms>50</ms></NotifyLater>`),
      b.request(sessionAction('NotifyLater'), `<NotifyLater xmlns="${SESSION_NS}"><ms>80</ms></NotifyLater>`),
      a.request(sessionAction('AddWithProgress'), `<AddWithProgress xmlns="${SESSION_NS}"><a>7</a><b>1</b></AddWithProgress>`),
    ]);
    await waitFor(() => a.unsolicited.length === 2 && b.unsolicited.length === 1, 5000, 'the callbacks');
    expect(a.unsolicited.map((x) => (x.includes('Progress') ? 'progress' : textOf(x, 'session'))).sort()).toEqual([ida, 'progress'].sort());
    expect(textOf(b.unsolicited[0]!, 'session')).toBe(idb);
  });

  it('a client that goes away drops its service session', async () => {
    // Sessions of earlier tests are gone once their clients are.
    await waitFor(() => service.stats.connections() === 0, 5000, 'earlier sessions to close');
    const before = 0;
    const a = await open();
    await inc(a);
    expect(service.stats.connections()).toBe(before + 1);
    a.destroy();
    await waitFor(() => service.stats.connections() === before, 5000, 'the service connection to close');
  });

  it('the service going away faults the client’s session at once (a waiting call gets a fault, the connection closes)', async () => {
    const a = await open();
    await inc(a);
    const waiting = a.request(sessionAction('Ask'), `<Ask xmlns="${SESSION_NS}"><q>never answered</q></Ask>`);
    await waitFor(() => a.unsolicited.length === 1, 5000, 'the question');
    service.stats.killAll();
    const fault = await waiting;
    expect(fault).toContain('Fault');
    await a.waitClosed(5000);
  });

  it('sessionless callers (SOAP over HTTP) to a nettcp target never share a service session', async () => {
    const post = () =>
      request(`${relay.url}/sessions`, {
        method: 'POST',
        headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${sessionAction('Increment')}"` },
        body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${sessionAction('Increment')}</a:Action><a:MessageID>urn:uuid:${Math.random()}</a:MessageID><a:To s:mustUnderstand="1">x</a:To></s:Header><s:Body><Increment xmlns="${SESSION_NS}"/></s:Body></s:Envelope>`,
      }).then((r) => Number(textOf(r.body.toString(), 'IncrementResult')));
    expect(await post()).toBe(1);
    expect(await post()).toBe(1);
    expect(await Promise.all([post(), post(), post()])).toEqual([1, 1, 1]);
  });

  /** A SOAP 1.2 POST through the relay; the reply's text. */
  const soap12 = (path: string, op: string, body: string, messageId = `urn:uuid:${Math.random()}`) =>
    request(`${relay.url}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': `application/soap+xml; charset=utf-8; action="${sessionAction(op)}"` },
      body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action s:mustUnderstand="1">${sessionAction(op)}</a:Action><a:MessageID>${messageId}</a:MessageID><a:To s:mustUnderstand="1">x</a:To></s:Header><s:Body>${body}</s:Body></s:Envelope>`,
    }).then((r) => r.body.toString());

  it('a sessionless caller gets the reply, not a one-way callback the service sends first', async () => {
    const reply = await soap12('sessions', 'AddWithProgress', `<AddWithProgress xmlns="${SESSION_NS}"><a>2</a><b>3</b></AddWithProgress>`);
    expect(textOf(reply, 'AddWithProgressResult')).toBe('5');
  });

  it('a two-way callback to a sessionless caller is answered with a fault at once (the service does not wait)', async () => {
    const reply = await soap12('sessions', 'Ask', `<Ask xmlns="${SESSION_NS}"><q>why</q></Ask>`);
    expect(textOf(reply, 'AskResult')).toMatch(/^FAULT .*sessionless/);
  });

  it('shared sessions: two calls with one MessageID at once each get their own reply', async () => {
    const id = 'urn:uuid:00000000-0000-0000-0000-000000000001';
    const echo = (text: string) => soap12('shared', 'Echo', `<Echo xmlns="${SESSION_NS}"><text>${text}</text></Echo>`, id).then((x) => textOf(x, 'EchoResult'));
    expect(await Promise.all([echo('first'), echo('second'), echo('third')])).toEqual(['first', 'second', 'third']);
  });
});

describe('net.tcp sessions when the relay or the agent goes away', () => {
  const h = new Harness();
  afterAll(() => h.close());

  async function setup() {
    const service = await sessionService(h);
    const relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1' }, entities: [{ path: 'sessions', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'sessions', target: { type: 'nettcp', url: service.url } }]);
    await agent.whenReady();
    const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => c.destroy());
    await c.open(`${relay.netTcp!.url}/sessions`);
    expect(await inc(c)).toBe(1);
    return { service, relay, agent, c };
  }

  it('the agent stopping faults the client’s session (its connection closes) and drops the service session', async () => {
    const { service, agent, c } = await setup();
    expect(service.stats.open()).toBe(1);
    await agent.stop();
    await c.waitClosed(5000);
    await waitFor(() => service.stats.connections() === 0, 5000, 'the service session to be dropped');
  });

  it('the relay stopping ends the client’s session and the agent drops the service session', async () => {
    const { service, relay, c } = await setup();
    await relay.close();
    await c.waitClosed(5000);
    await waitFor(() => service.stats.connections() === 0, 5000, 'the service session to be dropped');
  });
});

describe('net.tcp sessions past the limits', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('past netTcp.maxSessionsPerPath a new client session gets ServerTooBusy; a session that ends frees its place', async () => {
    const service = await sessionService(h);
    const relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1', maxSessionsPerPath: 2 }, entities: [{ path: 'sessions', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'sessions', target: { type: 'nettcp', url: service.url } }]);
    await agent.whenReady();
    const open = async (): Promise<NetTcpClient> => {
      const c = await NetTcpClient.connect({ port: relay.netTcp!.port });
      h.defer(() => c.destroy());
      await c.open(`${relay.netTcp!.url}/sessions`);
      return c;
    };
    const [a, b] = [await open(), await open()];
    expect([await inc(a), await inc(b)]).toEqual([1, 1]);
    const c = await open();
    const refused = inc(c).catch((e: Error) => e);
    expect(String(await refused)).toMatch(/ServerTooBusy/);
    await a.end();
    const d = await open();
    expect(await inc(d)).toBe(1);
  });

  it('past the agent’s maxClientSessions a new client session gets ServerTooBusy', async () => {
    const service = await sessionService(h);
    const relay = await h.relay({ netTcp: { port: 0, host: '127.0.0.1' }, entities: [{ path: 'sessions', requiresClientAuthorization: false }] });
    const agent = await h.agent(relay, [{ path: 'sessions', target: { type: 'nettcp', url: service.url, maxClientSessions: 1 } }]);
    await agent.whenReady();
    const first = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => first.destroy());
    await first.open(`${relay.netTcp!.url}/sessions`);
    expect(await inc(first)).toBe(1);
    const second = await NetTcpClient.connect({ port: relay.netTcp!.port });
    h.defer(() => second.destroy());
    await second.open(`${relay.netTcp!.url}/sessions`);
    expect(String(await inc(second).catch((e: Error) => e))).toMatch(/ServerTooBusy/);
  });
});
