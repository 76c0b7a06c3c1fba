import net from 'node:net';
import { once } from 'node:events';
import { TurnWrites } from '../../../src/transport/turn-writes';
import { countWrites, turnEnd, until } from '../../helpers/turns';

/** A connected loopback pair: what the far end reads, and how many writes the near end made. */
async function pair(): Promise<{ near: net.Socket; far: net.Socket; received: () => string; writes: () => number; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const near = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [far] = (await once(server, 'connection')) as [net.Socket];
  await once(near, 'connect');
  let got = '';
  far.on('data', (d: Buffer) => (got += d.toString()));
  return {
    near,
    far,
    received: () => got,
    writes: countWrites(near),
    close: () => {
      near.destroy();
      far.destroy();
      server.close();
    },
  };
}

describe('TurnWrites (a control channel\'s writes within one event-loop turn)', () => {
  it('sends a lone call at once and schedules nothing: one write, not held', async () => {
    const p = await pair();
    const turn = new TurnWrites(p.near);
    turn.write(() => {
      p.near.write('a');
      p.near.write('b');
    }, false);
    expect(p.near.writableCorked).toBe(0);
    expect(p.writes()).toBe(1); // both parts of one message in one writev
    // A second lone call in the same turn also goes out at once.
    turn.write(() => p.near.write('c'), false);
    expect(p.writes()).toBe(2);
    await until(() => p.received() === 'abc');
    p.close();
  });

  it('with other calls in flight: the first write goes out at once, the rest of the turn together at its end, in order', async () => {
    const p = await pair();
    const turn = new TurnWrites(p.near);
    turn.write(() => p.near.write('1'), true);
    expect(p.writes()).toBe(1);
    expect(p.near.writableCorked).toBe(0);
    for (const m of ['2', '3', '4']) {
      turn.write(() => {
        p.near.write(m);
        p.near.write('.');
      }, true);
    }
    // Held: nothing more reached the socket in this turn.
    expect(p.near.writableCorked).toBe(1);
    expect(p.writes()).toBe(1);
    await turnEnd();
    expect(p.near.writableCorked).toBe(0);
    expect(p.writes()).toBe(2); // the held six chunks in one writev
    await until(() => p.received() === '12.3.4.');
    // A new turn starts afresh: its first write goes out at once again.
    turn.write(() => p.near.write('5'), true);
    expect(p.writes()).toBe(3);
    await turnEnd();
    expect(p.writes()).toBe(3);
    await until(() => p.received() === '12.3.4.5');
    p.close();
  });

  it('a write that throws leaves the socket uncorked', async () => {
    const p = await pair();
    const turn = new TurnWrites(p.near);
    expect(() =>
      turn.write(() => {
        throw new Error('boom');
      }, true),
    ).toThrow('boom');
    expect(p.near.writableCorked).toBe(0);
    p.close();
  });
});
