import { Backoff } from '../../../src/core/backoff';
import { ByteQueue } from '../../../src/core/byte-queue';

describe('Backoff', () => {
  it('grows exponentially to the cap, with jitter bounded, and resets', () => {
    const b = new Backoff({ initialMs: 100, multiplier: 2, maxMs: 1000, jitter: 0, random: () => 0.5 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('spreads delays by ±jitter around the base', () => {
    const low = new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0.999999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
  });
});

describe('ByteQueue', () => {
  it('consumes within a chunk without copying and across chunks with a copy', () => {
    const q = new ByteQueue();
    const a = Buffer.from('hello');
    q.push(a);
    q.push(Buffer.from(' world'));
    const view = q.consume(2);
    expect(view.buffer).toBe(a.buffer);
    expect(view.toString()).toBe('he');
    expect(q.peekByte(0)).toBe('l'.charCodeAt(0));
    expect(q.consume(6).toString()).toBe('llo wo');
    expect(q.length).toBe(3);
    expect(q.consumeChunks(10).map(String)).toEqual(['rld']);
    expect(() => q.consume(1)).toThrow(RangeError);
  });
});
