/** idleWatch: fires once nothing touched it for `ms`; touch() restarts the wait, stop() ends it. */
import { idleWatch, systemClock } from '../../../src/core/clock';

describe('idleWatch', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires after ms of silence, not while touched, never after stop', () => {
    const fired: number[] = [];
    const watch = idleWatch(systemClock, 100, () => fired.push(1));
    jest.advanceTimersByTime(90);
    watch.touch();
    jest.advanceTimersByTime(90);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(20);
    expect(fired).toEqual([1]);
    const stopped = idleWatch(systemClock, 100, () => fired.push(2));
    stopped.stop();
    jest.advanceTimersByTime(500);
    expect(fired).toEqual([1]);
  });
});
