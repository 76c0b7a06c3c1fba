/**
 * Where a relayed call's response goes, whatever transport the caller came in on (undici's
 * dispatcher/handler model). The router calls, in order: `onStart` once, `onData` zero or more
 * times, then `onEnd`; or `onError` at any point instead of what is left (`started` says whether
 * `onStart` was called). Nothing is called after `onEnd` or `onError`.
 *
 * Adapters: {@link ServerResponseHandler} serves a `node:http` response (HTTP senders, SOAP over
 * HTTP); {@link BufferingHandler} collects a whole response in memory (net.tcp, metadata).
 */
import type { ServerResponse } from 'node:http';
import { QuotaExceededError, type RelayError } from '../../core/errors';
import { httpFormOf, type ErrorWriter } from '../http/json-error';

export interface ResponseHandler {
  /**
   * The listener's status line and headers (hop-by-hop headers removed, `Via` extended, and
   * `Content-Length` set when the body is whole). `streamed`: the body follows in pieces of
   * unknown total length, so the head may be shown to the caller at once.
   */
  onStart(status: number, reason: string, headers: Readonly<Record<string, string>>, streamed: boolean): void;
  /**
   * A piece of the body. Return false to pause the listener's side; then call `resume` once when
   * more may come. Throwing a RelayError (a size limit) fails the call with it.
   */
  onData(chunk: Buffer, resume: () => void): boolean;
  onEnd(): void;
  /**
   * The call failed: before the response started (write the error: a status, a fault) or after
   * it (cut the caller's response, never end it as if complete). Returns the status the caller
   * sees, for the per-call metrics; undefined means the error's own HTTP status.
   */
  onError(err: RelayError, started: boolean): number | undefined;
}

/** Serves a relayed response on a `node:http` ServerResponse; errors before the start go through `writeError`. */
export class ServerResponseHandler implements ResponseHandler {
  readonly #res: ServerResponse;
  readonly #writeError: ErrorWriter;
  readonly #afterError: (() => void) | undefined;

  /**
   * @param afterError run after an error was written (before the start): the HTTP endpoints
   *   drop what is left of the request body there, bounded (http/discard-body.ts).
   */
  constructor(res: ServerResponse, writeError: ErrorWriter, afterError?: () => void) {
    this.#res = res;
    this.#writeError = writeError;
    this.#afterError = afterError;
  }

  onStart(status: number, reason: string, headers: Readonly<Record<string, string>>, streamed: boolean): void {
    const res = this.#res;
    res.statusCode = status;
    res.statusMessage = reason;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    // A whole body goes out with its headers in one write; a streamed one shows its head early.
    if (streamed) res.flushHeaders();
  }

  onData(chunk: Buffer, resume: () => void): boolean {
    if (this.#res.write(chunk)) return true;
    this.#res.once('drain', resume);
    return false;
  }

  onEnd(): void {
    this.#res.end();
  }

  onError(err: RelayError, started: boolean): number | undefined {
    const res = this.#res;
    if (started || res.headersSent) {
      res.destroy(err);
      return undefined;
    }
    this.#writeError(res, err);
    this.#afterError?.();
    return res.statusCode; // as written (a SOAP fault is a 500 whatever the error)
  }
}

/** A whole response held in memory. Header names are lower-cased. */
export interface BufferedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface BufferingOptions {
  /** Largest body kept; past it the call fails with `tooLarge()` (the listener's side is cut). */
  readonly maxBytes?: number;
  readonly tooLarge?: (maxBytes: number) => RelayError;
  /** The status the caller is counted with when the call fails (default: the error's HTTP status). */
  readonly errorStatus?: number;
}

/** Collects the response; `response` resolves with it, or rejects with the relay-side error. */
export class BufferingHandler implements ResponseHandler {
  readonly response: Promise<BufferedResponse>;
  #resolve!: (r: BufferedResponse) => void;
  #reject!: (e: RelayError) => void;
  #status = 0;
  #headers: Record<string, string> = {};
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #o: BufferingOptions;

  constructor(options: BufferingOptions = {}) {
    this.#o = options;
    this.response = new Promise<BufferedResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Body bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  onStart(status: number, _reason: string, headers: Readonly<Record<string, string>>): void {
    this.#status = status;
    for (const [k, v] of Object.entries(headers)) this.#headers[k.toLowerCase()] = v;
  }

  onData(chunk: Buffer): boolean {
    this.#bytes += chunk.length;
    const max = this.#o.maxBytes;
    if (max !== undefined && this.#bytes > max) {
      throw this.#o.tooLarge?.(max) ?? new QuotaExceededError('RELAY_ERR_BODY_TOO_LARGE', `The response is larger than ${max} bytes.`);
    }
    this.#chunks.push(chunk);
    return true;
  }

  onEnd(): void {
    this.#resolve({ statusCode: this.#status, headers: this.#headers, body: Buffer.concat(this.#chunks, this.#bytes) });
  }

  onError(err: RelayError): number | undefined {
    this.#reject(err);
    return this.#o.errorStatus ?? httpFormOf(err).status;
  }
}
