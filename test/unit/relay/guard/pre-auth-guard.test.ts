import { ClientAddressResolver, parseProxyEntry } from '../../../../src/relay/guard/client-address';
import { PreAuthSlots } from '../../../../src/relay/guard/pre-auth-slots';
import { buildRelayConfig } from '../../../../src/relay/options';

describe('ClientAddressResolver', () => {
  it('ignores X-Forwarded-For without trusted proxies', () => {
    const r = new ClientAddressResolver([]);
    expect(r.resolve('127.0.0.1', { 'x-forwarded-for': '10.0.0.1' })).toBe('127.0.0.1');
    expect(r.resolve('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('takes the rightmost untrusted hop from a trusted peer', () => {
    const r = new ClientAddressResolver(['10.0.0.0/8', '::1']);
    expect(r.resolve('10.1.1.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.2.2.2' })).toBe('198.51.100.4');
    expect(r.resolve('::1', { 'x-forwarded-for': '[2001:db8::5]:443' })).toBe('2001:db8::5');
    expect(r.resolve('10.1.1.1', { 'x-forwarded-for': '198.51.100.4:5678' })).toBe('198.51.100.4');
    // Not from a trusted peer: the header is the caller's own writing.
    expect(r.resolve('198.51.100.9', { 'x-forwarded-for': '1.2.3.4' })).toBe('198.51.100.9');
    // Every hop trusted: the leftmost; a malformed hop stops at the last trusted address.
    expect(r.resolve('10.1.1.1', { 'x-forwarded-for': '10.3.3.3, 10.2.2.2' })).toBe('10.3.3.3');
    expect(r.resolve('10.1.1.1', { 'x-forwarded-for': 'junk, 10.2.2.2' })).toBe('10.2.2.2');
    expect(r.resolve('10.1.1.1', {})).toBe('10.1.1.1');
  });

  it('validates entries in the options schema', () => {
    expect(parseProxyEntry('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseProxyEntry('10.0.0.0/33')).toBeUndefined();
    expect(parseProxyEntry('example.com')).toBeUndefined();
    expect(() => buildRelayConfig({ trustedProxies: ['nope'] })).toThrow(/trustedProxies/);
    const config = buildRelayConfig({});
    expect(config.trustedProxies).toEqual([]);
    expect(config.limits.preAuthSoapHeadBytes).toBe(64 * 1024);
    expect(config.limits.maxUnauthenticatedPerAddress).toBe(64);
    expect(config.limits.maxUnauthenticated).toBe(1024);
    expect(config.limits.preAuthBodyTimeoutMs).toBe(10_000);
  });
});

describe('PreAuthSlots', () => {
  it('caps per address and in all, and gives slots back once', () => {
    const slots = new PreAuthSlots({ perAddress: 2, total: 3 });
    const a1 = slots.tryAcquire('a')!;
    const a2 = slots.tryAcquire('a')!;
    expect(slots.tryAcquire('a')).toBeUndefined();
    const b1 = slots.tryAcquire('b')!;
    expect(slots.tryAcquire('c')).toBeUndefined(); // total
    a1.release();
    a1.release(); // idempotent
    expect(slots.inUse).toBe(2);
    expect(slots.tryAcquire('c')).toBeDefined();
    a2.release();
    b1.release();
    expect(slots.heldBy('a')).toBe(0);
  });
});
