import { StateMachine, type TransitionTable } from '../../../src/core/state-machine';
import { TRANSITIONS as CHANNEL } from '../../../src/agent/control/channel-state';
import { CARRIER_TRANSITIONS, CONNECTION_TRANSITIONS } from '../../../src/relay/endpoints/net-tcp/connection-state';
import { SERVICE_SESSION_TRANSITIONS } from '../../../src/agent/proxies/net-tcp-session';

describe('StateMachine', () => {
  const table: TransitionTable<'A' | 'B' | 'C'> = { A: ['B'], B: ['A', 'C'], C: [] };

  it('moves along the table and reports where it came from', () => {
    const m = new StateMachine('test', 'A', table);
    expect(m.state).toBe('A');
    expect(m.to('B')).toBe('A');
    expect(m.is('A', 'B')).toBe(true);
    expect(m.can('C')).toBe(true);
    expect(m.to('C')).toBe('B');
    expect(m.is('C')).toBe(true);
  });

  it('throws on a move the table does not allow, naming the machine and the move, and stays put', () => {
    const m = new StateMachine('test machine', 'A', table);
    expect(m.can('C')).toBe(false);
    expect(() => m.to('C')).toThrow('test machine: illegal transition A → C');
    expect(m.state).toBe('A');
  });
});

/** Every table: each state reachable from the first, one final state, reachable from every state. */
describe.each([
  ['listener channel', CHANNEL, 'IDLE', 'CLOSED'],
  ['net.tcp connection', CONNECTION_TRANSITIONS, 'PREAMBLE', 'CLOSED'],
  ['net.tcp carrier', CARRIER_TRANSITIONS, 'OPENING', 'OVER'],
  ['net.tcp service session', SERVICE_SESSION_TRANSITIONS, 'CONNECTING', 'CLOSED'],
] as Array<[string, TransitionTable<string>, string, string]>)('%s transition table', (_name, t, initial, final) => {
  const states = Object.keys(t);
  const reach = (from: string): Set<string> => {
    const seen = new Set([from]);
    const todo = [from];
    while (todo.length) for (const n of t[todo.pop()!]!) if (!seen.has(n)) (seen.add(n), todo.push(n));
    return seen;
  };

  it('names only its own states', () => {
    for (const s of states) for (const n of t[s]!) expect(states).toContain(n);
  });
  it('reaches every state from the initial one', () => {
    expect([...reach(initial)].sort()).toEqual([...states].sort());
  });
  it('has one final state, reachable from every state', () => {
    expect(states.filter((s) => t[s]!.length === 0)).toEqual([final]);
    for (const s of states) expect(reach(s).has(final)).toBe(true);
  });
});
