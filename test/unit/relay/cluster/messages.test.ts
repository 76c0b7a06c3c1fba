import { decodeMessage, encodeMessage } from '../../../../src/relay/cluster/cluster';

describe('cluster messages', () => {
  it('round-trips a command (its JSON carried raw) with and without a body', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const json = '{"request":{"id":"r1","requestHeaders":{"x":"é \\"q\\""}}}';
    const withBody = decodeMessage(encodeMessage({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', requestId: 'r1', body: true }, body, json));
    expect(withBody.m).toEqual({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', requestId: 'r1', body: true });
    expect(withBody.raw).toBe(json);
    expect(withBody.body).toEqual(body);
    const noBody = decodeMessage(encodeMessage({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', body: false }, undefined, json));
    expect([noBody.raw, noBody.body]).toEqual([json, undefined]);
    const without = decodeMessage(encodeMessage({ t: 'remove', node: 'b', id: 'l2' }));
    expect(without).toEqual({ m: { t: 'remove', node: 'b', id: 'l2' }, raw: undefined, body: undefined });
  });

  it('refuses a raw part that runs past the message', () => {
    const whole = Buffer.from(encodeMessage({ t: 'cmd', from: 'a', listenerId: 'l1', path: 'p', body: false }, undefined, '{"request":{}}'));
    expect(() => decodeMessage(whole.subarray(0, whole.length - 3))).toThrow(/truncated/);
  });

  it('refuses short, truncated and non-JSON messages (the node ignores them)', () => {
    expect(() => decodeMessage(Buffer.from([0, 0]))).toThrow(/too short/);
    expect(() => decodeMessage(Buffer.from([0, 0, 0, 9, 0x7b]))).toThrow(/truncated/);
    expect(() => decodeMessage(Buffer.from([0, 0, 0, 1, 0x7b]))).toThrow();
  });
});
