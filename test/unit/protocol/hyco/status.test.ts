import { reasonPhrase } from '../../../../src/protocol/hyco';

describe('reasonPhrase', () => {
  it.each([
    [200, 'OK'],
    [201, 'Created'],
    [204, 'No Content'],
    [400, 'Bad Request'],
    [404, 'Not Found'],
    [410, 'Gone'],
    [418, "I'm a Teapot"],
    [502, 'Bad Gateway'],
    [504, 'Gateway Timeout'],
  ])('%i → %s', (status, phrase) => {
    expect(reasonPhrase(status)).toBe(phrase);
  });

  it("falls back to 'Unknown'", () => {
    expect(reasonPhrase(450)).toBe('Unknown');
    expect(reasonPhrase(999)).toBe('Unknown');
    expect(reasonPhrase(Number.NaN)).toBe('Unknown');
  });
});
