import { buildRelayConfig } from '../../../src/relay/options';
import { buildAgentConfig } from '../../../src/agent/options';
import { ConfigError } from '../../../src/core/errors';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('relay options', () => {
  it('fills defaults and freezes the result', () => {
    const c = buildRelayConfig({});
    expect(c.port).toBe(9443);
    expect(c.limits.maxListenersPerPath).toBe(25);
    expect(c.limits.requestTimeoutMs).toBe(60_000);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
  });

  it('names every bad key, including unknown and nested ones', () => {
    const issues = issuesOf(() =>
      buildRelayConfig({ port: -1, prot: 1, limits: { requestTimeoutMs: 'soon', nope: true }, heartbeat: { intervalMs: 1 } } as never),
    );
    const text = issues.join('\n');
    expect(text).toMatch(/^port: /m);
    expect(text).toMatch(/prot: unknown option/);
    expect(text).toMatch(/limits\.requestTimeoutMs: /);
    expect(text).toMatch(/limits\.nope: unknown option/);
    expect(text).toMatch(/heartbeat\.intervalMs: /);
  });

  it('entity distribution: `one` or `broadcast`, the same as broadcast false/true; a contradiction is named', () => {
    const c = buildRelayConfig({ entities: [{ path: 'events', distribution: 'broadcast' }, { path: 'calls', distribution: 'one' }, { path: 'old', broadcast: true }] });
    expect(c.entities.map((e) => [e.path, e.broadcast])).toEqual([
      ['events', true],
      ['calls', false],
      ['old', true],
    ]);
    expect(issuesOf(() => buildRelayConfig({ entities: [{ path: 'x', distribution: 'everyone' }] } as never)).join('\n')).toMatch(/^entities\.0\.distribution: /m);
    expect(issuesOf(() => buildRelayConfig({ entities: [{ path: 'x', distribution: 'one', broadcast: true }] }))).toEqual([
      'entities.0.distribution: one contradicts broadcast: true; give one',
    ]);
  });

  it('gives a hint for renamed options', () => {
    expect(issuesOf(() => buildRelayConfig({ listenPort: 1 } as never))[0]).toMatch(/listenPort: not an option; use "port"/);
  });

  it('keeps the control-body extension within the control message limit', () => {
    expect(buildRelayConfig({}).limits.agentControlBodyBytes).toBe(1024 * 1024);
    expect(buildRelayConfig({ limits: { agentControlBodyBytes: 0 } } as never).limits.agentControlBodyBytes).toBe(0);
    const text = issuesOf(() => buildRelayConfig({ limits: { maxControlMessageBytes: 100_000, agentControlBodyBytes: 200_000 } } as never)).join('\n');
    expect(text).toMatch(/limits\.agentControlBodyBytes: must not exceed limits\.maxControlMessageBytes/);
    expect(issuesOf(() => buildRelayConfig({ limits: { agentControlBodyBytes: 1000 } } as never)).join('\n')).toMatch(/limits\.agentControlBodyBytes/);
  });
});

describe('agent options', () => {
  const base = { relayUrl: 'ws://127.0.0.1:9443', keyName: 'k', key: 'v', services: [{ path: 'a', target: { type: 'http' as const, url: 'http://127.0.0.1:1' } }] };

  it('accepts a valid config and fills defaults', () => {
    const c = buildAgentConfig(base);
    expect(c.services[0]!.connections).toBe(1);
    expect(c.reconnect.maxMs).toBe(30_000);
  });

  it('names bad keys inside services and targets', () => {
    const text = issuesOf(() =>
      buildAgentConfig({ ...base, services: [{ path: 'a', target: { type: 'http', url: 'not a url', extra: 1 } }], relayUrl: 'ftp://x' } as never),
    ).join('\n');
    expect(text).toMatch(/relayUrl: /);
    expect(text).toMatch(/services\.0\.target/);
  });

  it('requires credentials and a sane renewal window', () => {
    expect(issuesOf(() => buildAgentConfig({ ...base, keyName: undefined, key: undefined }))[0]).toMatch(/keyName\/key/);
    expect(issuesOf(() => buildAgentConfig({ ...base, tokenTtlSeconds: 100, renewBeforeSeconds: 200 }))[0]).toMatch(/renewBeforeSeconds/);
  });

  it('keeps the control-body offer within maxControlMessageBytes (under limits, as the relay has them)', () => {
    expect(buildAgentConfig(base).limits).toEqual({ maxControlMessageBytes: 1024 * 1024, controlBodyThresholdBytes: 64 * 1024, offerControlBodyBytes: 1024 * 1024, maxFramePayloadBytes: 64 * 1024 * 1024 });
    expect(issuesOf(() => buildAgentConfig({ ...base, limits: { maxControlMessageBytes: 100_000, offerControlBodyBytes: 200_000 } }))[0]).toMatch(
      /limits\.offerControlBodyBytes: must not exceed limits\.maxControlMessageBytes/,
    );
    // The keys' old place at the top level is named, with where they went.
    expect(issuesOf(() => buildAgentConfig({ ...base, offerControlBodyBytes: 0 } as never))).toEqual(['offerControlBodyBytes: not an option; use "limits.offerControlBodyBytes" instead']);
  });
});
