import { TurnGate } from '../../../src/core/turn-gate';
import { turnEnd } from '../../helpers/turns';


describe('TurnGate', () => {
  it('without other calls in flight every message goes now and nothing is scheduled', async () => {
    let released = 0;
    const gate = new TurnGate(() => released++);
    expect([gate.admit(false), gate.admit(false), gate.admit(false)]).toEqual(['now', 'now', 'now']);
    await turnEnd();
    expect(released).toBe(0);
  });

  it('a busy turn: the first now, the next begins a hold, the rest join it; released once at the turn\'s end', async () => {
    let released = 0;
    const gate = new TurnGate(() => released++);
    expect(gate.admit(true)).toBe('now');
    expect(gate.admit(true)).toBe('begin');
    expect(gate.admit(false)).toBe('hold');
    expect(gate.admit(true)).toBe('hold');
    expect(released).toBe(0);
    await turnEnd();
    expect(released).toBe(1);
    // The next turn starts afresh.
    expect(gate.admit(true)).toBe('now');
    await turnEnd();
    expect(released).toBe(1); // nothing was held in that turn
  });
});
