import { parseControlBodyOffer } from '../../../../src/protocol/hyco';

describe('control-body offer header', () => {
  it('reads a decimal size within [64 KiB, 64 MiB]', () => {
    expect(parseControlBodyOffer('1048576')).toBe(1048576);
    expect(parseControlBodyOffer(' 65536 ')).toBe(65536);
    expect(parseControlBodyOffer(String(64 * 1024 * 1024))).toBe(64 * 1024 * 1024);
  });

  it('treats anything else as no offer, so the protocol rule applies', () => {
    for (const v of [undefined, '', 'abc', '1e6', '-1', '65535', String(64 * 1024 * 1024 + 1), '0x100000', '1048576, 1048576', '9999999999']) {
      expect(parseControlBodyOffer(v)).toBeUndefined();
    }
    expect(parseControlBodyOffer(['1048576', '1048576'])).toBeUndefined();
  });
});
