/**
 * Why a control channel could not be opened, or was lost, in the shape the reconnect loop, the
 * logs and `/$health` use. A refused credential (401/403) is an operator's problem: it is retried
 * with the longer cap and logged at `error` with the relay's own reason. Everything else (the
 * relay is down, restarting, unreachable, untrusted, unknown) is retried with the normal cap and
 * logged at `warn` with the cause (`ECONNREFUSED`, `ENOTFOUND`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`…).
 */
import type { IncomingMessage } from 'node:http';

export const FailureKind = {
  /** The relay refused the credential: 401 or 403. */
  Auth: 'auth',
  /** The relay answered the handshake with another error status (404, 429, 5xx…). */
  Refused: 'refused',
  /** No answer: connection refused or reset, DNS, TLS, handshake timeout. */
  Network: 'network',
  /** An open channel closed (relay restart, heartbeat missed, socket reset). */
  Lost: 'lost',
  /** The token provider failed. */
  Token: 'token',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

export interface ConnectFailure {
  kind: FailureKind;
  /** One line for people: the relay's reason, or the socket error's message. */
  reason: string;
  /** The relay's HTTP status (auth, refused). */
  status?: number;
  /** The socket/TLS/DNS error code (network), e.g. ECONNREFUSED. */
  cause?: string;
  /** The WebSocket close code (lost). */
  closeCode?: number;
}

/** Most of a refusal's body read for its reason, bytes. */
const MAX_REFUSAL_BYTES = 4096;
/** Longest wait for a refusal's body, ms. */
const REFUSAL_READ_MS = 5000;
/** Longest reason kept, characters. */
const MAX_REASON_CHARS = 300;

export function networkFailure(err: Error & { code?: string }): ConnectFailure {
  return { kind: FailureKind.Network, reason: oneLine(err.message), cause: err.code ?? 'ERROR' };
}

/**
 * Reads the relay's answer to a refused handshake (at most MAX_REFUSAL_BYTES, REFUSAL_READ_MS) and
 * takes its reason: the JSON `error.message` (Azure's shape), else the text body, else the
 * status line.
 */
export function readRefusal(res: IncomingMessage): Promise<ConnectFailure> {
  const status = res.statusCode ?? 0;
  const kind = status === 401 || status === 403 ? FailureKind.Auth : FailureKind.Refused;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res.removeAllListeners('data');
      res.destroy();
      const text = Buffer.concat(chunks, size).toString('utf8');
      const reason = reasonOf(text) || `${status} ${res.statusMessage ?? ''}`.trim();
      resolve({ kind, status, reason: oneLine(reason) });
    };
    const timer = setTimeout(finish, REFUSAL_READ_MS);
    timer.unref();
    res.on('data', (c: Buffer) => {
      const room = MAX_REFUSAL_BYTES - size;
      if (room > 0) {
        chunks.push(c.subarray(0, room));
        size += Math.min(room, c.length);
      }
      if (size >= MAX_REFUSAL_BYTES) finish();
    });
    res.once('end', finish);
    res.once('error', finish);
    res.once('close', finish);
  });
}

function reasonOf(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  try {
    const parsed = JSON.parse(trimmed) as { error?: { message?: unknown }; message?: unknown };
    const m = parsed?.error?.message ?? parsed?.message;
    if (typeof m === 'string' && m) return m;
  } catch {
    /* a text body */
  }
  return trimmed;
}

function oneLine(s: string): string {
  const line = s.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e\u00a0-\uffff]/g, '');
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS)}…` : line;
}
