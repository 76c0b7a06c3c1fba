/** Defaults that decide how the relay meets silent listeners, foreign tokens and odd targets. */
import { buildRelayConfig } from '../../../src/relay/options';
import { targetPathProblem } from '../../../src/relay/http/http-headers';

describe('relay defaults', () => {
  it('evicts a silent listener within 30 s (interval × (maxMissed + 1) ≤ 30 s)', () => {
    const { heartbeat } = buildRelayConfig({});
    expect(heartbeat.intervalMs * (heartbeat.maxMissed + 1)).toBeLessThanOrEqual(30_000);
  });

  it('does not accept tokens for any host unless told to', () => {
    expect(buildRelayConfig({}).audienceHosts).toBeUndefined();
    expect(buildRelayConfig({ audienceHosts: '*' }).audienceHosts).toBe('*');
    expect(() => buildRelayConfig({ audienceHosts: [] })).toThrow(/audienceHosts/);
  });

  it('admin listener binds to loopback by default; header timeout 60 s', () => {
    expect(buildRelayConfig({ admin: { port: 0 } }).admin).toEqual({ port: 0, host: '127.0.0.1' });
    expect(buildRelayConfig({}).admin).toBeUndefined();
    expect(buildRelayConfig({}).limits.headersTimeoutMs).toBe(60_000);
    expect(() => buildRelayConfig({ admin: { port: 0, extra: 1 } as never })).toThrow(/admin/);
  });
});

describe('targetPathProblem (RFC 3986 §5.2.4 dot segments, refused)', () => {
  it.each(['/a/../b', '/a/./b', '/a/..', '/..', '/a/%2e%2e/b', '/a/%2E%2e', '/a/.%2e/b', '/a/..%2fb', '/a%2f..%2fb', '/a/..%5Cb', '/a/..\\b', '/a/..;x=1/b', '/a/%252e%252e/b'])(
    'refuses %s',
    (p) => expect(targetPathProblem(p)).toMatch(/segment/),
  );
  it.each(['/a', '/a/b', '/a/.well-known', '/a/x..y', '/a/...', '/a//b', '/a/%2e%2ex', '/'])('accepts %s', (p) => expect(targetPathProblem(p)).toBeUndefined());
  it('refuses an escape that does not decode', () => {
    expect(targetPathProblem('/a%zz')).toMatch(/escape/);
    expect(targetPathProblem('/a/%E0%A4%A')).toMatch(/escape/);
  });
});
