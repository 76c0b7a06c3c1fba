/**
 * The relay's ControlChannel on a real WebSocket: a request alone goes out at once; with other
 * calls in flight (its pending set, or requests another node forwarded) a turn's requests after
 * the first are held and written together when the turn ends, in order.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ControlChannel } from '../../../../src/relay/endpoints/control/control-channel';
import { systemClock } from '../../../../src/core/clock';
import { noopLogger } from '../../../../src/core/logger';
import { countWrites, turnEnd, until } from '../../../helpers/turns';

async function channelPair(): Promise<{ channel: ControlChannel; received: string[]; writes: () => number; close: () => Promise<void> }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  let writes: () => number = () => 0;
  const accepted = new Promise<ControlChannel>((resolve) =>
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        writes = countWrites(socket);
        resolve(
          new ControlChannel(
            ws,
            { onResponse: () => undefined, onInvalidResponse: () => undefined, renewToken: () => 0, onClosed: () => undefined },
            {
              listenerId: 'l1',
              path: 'p',
              remoteAddress: '127.0.0.1',
              controlBodyLimit: 65536,
              tokenExpiresAt: Number.MAX_SAFE_INTEGER,
              tokenGraceSeconds: 0,
              heartbeatIntervalMs: 60_000,
              heartbeatMaxMissed: 3,
              clock: systemClock,
              logger: noopLogger,
            },
            socket as Socket,
          ),
        );
      });
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const received: string[] = [];
  client.on('message', (d, binary) => received.push(binary ? `<${(d as Buffer).length} bytes>` : String(d)));
  await once(client, 'open');
  const channel = await accepted;
  return {
    channel,
    received,
    writes: () => writes(),
    close: async () => {
      channel.close(1000, 'done');
      client.close();
      server.close();
      await once(client, 'close');
    },
  };
}

describe('ControlChannel: a busy turn\'s requests in one write', () => {
  it('with nothing else in flight each request (and its body) goes out at once, in one write', async () => {
    const p = await channelPair();
    const before = p.writes();
    expect(p.channel.sendRequest('{"request":{"id":"a"}}', Buffer.alloc(10))).toBe(true);
    expect(p.channel.sendRequest('{"request":{"id":"b"}}', undefined)).toBe(true);
    expect(p.writes() - before).toBe(2);
    await until(() => p.received.length === 3);
    expect(p.received).toEqual(['{"request":{"id":"a"}}', '<10 bytes>', '{"request":{"id":"b"}}']);
    await p.close();
  });

  it('requests forwarded by another node (othersInFlight): the first at once, the rest of the turn in one write at its end', async () => {
    const p = await channelPair();
    const before = p.writes();
    p.channel.sendRequest('{"request":{"id":"1"}}', Buffer.alloc(3), '1', true);
    expect(p.writes() - before).toBe(1);
    p.channel.sendRequest('{"request":{"id":"2"}}', undefined, '2', true);
    p.channel.sendRequest('{"request":{"id":"3"}}', Buffer.alloc(5), '3', true);
    expect(p.writes() - before).toBe(1); // held
    await turnEnd();
    expect(p.writes() - before).toBe(2);
    await until(() => p.received.length === 5);
    expect(p.received).toEqual(['{"request":{"id":"1"}}', '<3 bytes>', '{"request":{"id":"2"}}', '{"request":{"id":"3"}}', '<5 bytes>']);
    await p.close();
  });

  it('requests of this node in flight (the pending set) count as others too', async () => {
    const p = await channelPair();
    p.channel.pending.add('earlier');
    const before = p.writes();
    p.channel.sendRequest('{"request":{"id":"x"}}', undefined);
    p.channel.sendRequest('{"request":{"id":"y"}}', undefined);
    expect(p.writes() - before).toBe(1);
    await turnEnd();
    expect(p.writes() - before).toBe(2);
    await until(() => p.received.length === 2);
    await p.close();
  });
});
