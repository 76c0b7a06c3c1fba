import { decodeMessage, encodeMessage } from '../../../../src/relay/cluster/cluster';

describe('cluster messages', () => {
  it('round-trips a command with and without a body', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const withBody = decodeMessage(encodeMessage({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', json: '{"request":{"id":"r1"}}', body: true }, body));
    expect(withBody.m).toEqual({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', json: '{"request":{"id":"r1"}}', body: true });
    expect(withBody.body).toEqual(body);
    const without = decodeMessage(encodeMessage({ t: 'remove', node: 'b', id: 'l2' }));
    expect(without).toEqual({ m: { t: 'remove', node: 'b', id: 'l2' }, body: undefined });
  });

  it('refuses short, truncated and non-JSON messages (the node ignores them)', () => {
    expect(() => decodeMessage(Buffer.from([0, 0]))).toThrow(/too short/);
    expect(() => decodeMessage(Buffer.from([0, 0, 0, 9, 0x7b]))).toThrow(/truncated/);
    expect(() => decodeMessage(Buffer.from([0, 0, 0, 1, 0x7b]))).toThrow();
  });
});
