import { audienceMatches, parseSasToken, verifySasSignature } from '../../../src/auth/sas-token';
import { sasTokenProvider, staticTokenProvider } from '../../../src/auth/token-provider';
import { type Clock, systemClock } from '../../../src/core/clock';

const clock: Clock = { ...systemClock, now: () => 1_700_000_000_000 };

describe('token providers', () => {
  it('sasTokenProvider signs a fresh token for the audience and lifetime asked for', async () => {
    const provide = sasTokenProvider('listener', 'the-key', clock);
    const t = parseSasToken(await provide('wss://ns.example.com/$hc/hyco', 120));
    expect(t.skn).toBe('listener');
    expect(t.se).toBe(1_700_000_000 + 120);
    expect(t.resource).toBe('wss://ns.example.com/$hc/hyco');
    expect(verifySasSignature(t, ['the-key'])).toBe(true);
    expect(audienceMatches(t, { hosts: ['ns.example.com'], path: 'hyco' })).toBe(true);
  });

  it('sasTokenProvider defaults to the system clock', async () => {
    const t = parseSasToken(await sasTokenProvider('k', 'key')('http://ns/a', 60));
    expect(Math.abs(t.se - (Math.floor(Date.now() / 1000) + 60))).toBeLessThanOrEqual(1);
  });

  it('staticTokenProvider always returns the same token', async () => {
    const provide = staticTokenProvider('SharedAccessSignature sr=a&sig=b&se=1&skn=c');
    await expect(provide('http://ns/x', 10)).resolves.toBe('SharedAccessSignature sr=a&sig=b&se=1&skn=c');
    await expect(provide('http://ns/y', 20)).resolves.toBe('SharedAccessSignature sr=a&sig=b&se=1&skn=c');
  });
});
