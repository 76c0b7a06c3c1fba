/**
 * Back-pressure between two streams of any shape (Node streams, WsEndpoint, sockets): each chunk
 * goes to `write`, and when `write` says the sink is full the source is paused until the sink
 * emits `drain`. The one loop the relay and the agent use wherever bytes move from one side to
 * the other by events.
 */

/** A source that can stop and resume emitting. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** A sink that says when it can take more. */
export interface Drains {
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * `subscribe` registers the chunk listener on the source (its event name and chunk type are the
 * caller's); `write` returns false when the sink is full.
 */
export function pump<T>(source: Pausable, subscribe: (onChunk: (chunk: T) => void) => void, write: (chunk: T) => boolean, sink: Drains): void {
  subscribe((chunk) => {
    if (!write(chunk)) {
      source.pause();
      sink.once('drain', () => source.resume());
    }
  });
}
