import { RandomPool } from '../../../src/core/random';

describe('RandomPool', () => {
  it('hands out fresh hex secrets of the asked size, across refills, never the same twice', () => {
    const pool = new RandomPool(64);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const s = pool.hex(16);
      expect(s).toMatch(/^[0-9a-f]{32}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(1000);
  });

  it('refuses more than a pool at once', () => {
    expect(() => new RandomPool(8).hex(16)).toThrow(RangeError);
  });
});
