/** Test doubles for routing/: a control channel that records what it is sent, a manual clock, a recording handler. */
import type { Clock, TimerHandle } from '../../../../src/core/clock';
import type { RelayError } from '../../../../src/core/errors';
import { noopLogger } from '../../../../src/core/logger';
import type { RouteListener } from '../../../../src/relay/routing/pending-request';
import type { ResponseHandler } from '../../../../src/relay/routing/response-handler';

/** A listener's control channel: implements the interface the router uses, keeps what it was sent. */
export class FakeChannel implements RouteListener {
  readonly pending = new Set<string>();
  readonly sent: { json: Record<string, unknown>; body?: Buffer }[] = [];
  readonly log = noopLogger;
  readonly remoteAddress = '127.0.0.1';
  hostHeader: string | undefined = 'relay.test';
  healthy = true;
  sessionKinds: readonly string[] = [];
  /** False: the channel died between pick and send (every send is refused). */
  accepting = true;
  closed: { code: number; reason: string } | undefined;

  constructor(
    readonly listenerId: string,
    readonly path: string,
    readonly controlBodyLimit = 64 * 1024,
  ) {}

  sendRequest(json: string, body: Buffer | undefined): boolean {
    if (!this.accepting) return false;
    this.sent.push({ json: JSON.parse(json) as Record<string, unknown>, body });
    return true;
  }

  sendJson(json: string): boolean {
    if (!this.accepting) return false;
    this.sent.push({ json: JSON.parse(json) as Record<string, unknown> });
    return true;
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
}

/** Timers fire only when told; now() moves with them. */
export class ManualClock implements Clock {
  #now = 1_700_000_000_000;
  #seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.#now;
  setTimeout = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms);
  setInterval = (fn: () => void, ms: number): TimerHandle => this.#add(fn, ms);
  clearTimeout = (h: TimerHandle | undefined): void => void (h && this.timers.delete((h as { id: number }).id));
  clearInterval = (h: TimerHandle | undefined): void => this.clearTimeout(h);
  #add(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.timers.set(id, { at: this.#now + ms, fn });
    return { id } as TimerHandle;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  /** Runs the earliest timer, moving time to it; returns how far time moved. */
  fireNext(): number {
    const [id, t] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    if (id === undefined || !t) throw new Error('no timer pending');
    this.timers.delete(id);
    const waited = t.at - this.#now;
    this.#now = Math.max(this.#now, t.at);
    t.fn();
    return waited;
  }
}

export type HandlerEvent =
  | { type: 'start'; status: number; reason: string; headers: Record<string, string>; streamed: boolean }
  | { type: 'data'; chunk: string }
  | { type: 'end' }
  | { type: 'error'; code: string; started: boolean };

/** Records every call the router makes; `errorStatus` is what onError reports as written. */
export class RecordingHandler implements ResponseHandler {
  readonly events: HandlerEvent[] = [];
  errors: RelayError[] = [];
  errorStatus: number | undefined = 500;
  onStart(status: number, reason: string, headers: Readonly<Record<string, string>>, streamed: boolean): void {
    this.events.push({ type: 'start', status, reason, headers: { ...headers }, streamed });
  }
  onData(chunk: Buffer): boolean {
    this.events.push({ type: 'data', chunk: chunk.toString('utf8') });
    return true;
  }
  onEnd(): void {
    this.events.push({ type: 'end' });
  }
  onError(err: RelayError, started: boolean): number | undefined {
    this.errors.push(err);
    this.events.push({ type: 'error', code: err.code, started });
    return this.errorStatus;
  }
  get types(): string[] {
    return this.events.map((e) => e.type);
  }
}
