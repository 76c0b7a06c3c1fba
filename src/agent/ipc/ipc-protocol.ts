/**
 * Messages between the agent (net-ipc server) and local Node processes (net-ipc clients) that
 * serve SOAP operations. JSON over net-ipc's framing; each request carries `t`:
 *
 *   process → agent   request  { t: 'register', path, operations: [{ name, oneWay?, bare? }], wsdl? }
 *                              ← { ok: true } | { ok: false, error }
 *   agent → process   request  { t: 'call', path, operation, args, action?, soapVersion }
 *                              ← { ok: true, result } | { ok: false, fault }
 *   agent → process   message  { t: 'notify', path, operation, args, action? }   (one-way: no reply)
 */

export const IPC_PROTOCOL_VERSION = 1;

export interface IpcOperationInfo {
  readonly name: string;
  /** One-way: the caller gets 202 at once and no reply is produced. */
  readonly oneWay?: boolean;
  /** The result object's fields go straight into `{Op}Response` (no `{Op}Result` element). */
  readonly bare?: boolean;
}

export interface IpcRegister {
  readonly t: 'register';
  readonly v?: number;
  readonly path: string;
  readonly operations: readonly IpcOperationInfo[];
  readonly wsdl?: string;
}

export interface IpcCall {
  readonly t: 'call' | 'notify';
  readonly path: string;
  readonly operation: string;
  readonly args: Record<string, unknown>;
  readonly action?: string;
  readonly soapVersion: '1.1' | '1.2';
}

export interface IpcFault {
  readonly code?: 'Sender' | 'Receiver';
  readonly reason: string;
  readonly subcode?: { readonly namespaceUri: string; readonly localName: string };
  /** Fault detail: one well-formed XML element as text. */
  readonly detail?: string;
  /** Fault action (WS-Addressing callers): WCF matches typed faults by it. */
  readonly action?: string;
}

export type IpcCallReply = { readonly ok: true; readonly result?: unknown } | { readonly ok: false; readonly fault: IpcFault };
export type IpcRegisterReply = { readonly ok: true } | { readonly ok: false; readonly error: string };

const NAME = /^[A-Za-z_][\w.-]{0,255}$/;

/** Validates a register request from a local process; returns the problem, or undefined. */
export function checkRegister(msg: unknown): string | undefined {
  if (typeof msg !== 'object' || msg === null) return 'expected an object';
  const m = msg as Partial<IpcRegister>;
  if (m.t !== 'register') return 'expected t: "register"';
  if (typeof m.path !== 'string' || m.path.length === 0 || m.path.length > 260) return 'path: expected a non-empty string';
  if (!Array.isArray(m.operations) || m.operations.length === 0) return 'operations: expected a non-empty array';
  for (const op of m.operations as unknown[]) {
    const o = op as Partial<IpcOperationInfo>;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || !NAME.test(o.name)) return `operations: invalid operation ${JSON.stringify(op)}`;
  }
  if (m.wsdl !== undefined && typeof m.wsdl !== 'string') return 'wsdl: expected a string';
  return undefined;
}

/** Validates a call reply from a local process. */
export function isCallReply(msg: unknown): msg is IpcCallReply {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { ok?: unknown; fault?: { reason?: unknown } };
  if (m.ok === true) return true;
  return m.ok === false && typeof m.fault === 'object' && m.fault !== null && typeof m.fault.reason === 'string';
}
