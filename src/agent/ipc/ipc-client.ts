/**
 * The API for local Node processes that serve SOAP operations through the agent's `ipc` target,
 * with no HTTP server of their own:
 *
 *   import { registerService, SoapFault } from 'relaybridge/agent/ipc';   // or from this file
 *   const reg = await registerService({
 *     socketPath: '/run/relaybridge/agent.sock',
 *     path: 'calculator',
 *     wsdl: fs.readFileSync('wsdl/calculator.wsdl', 'utf8'),            // optional: served for ?wsdl
 *     operations: {
 *       Add: async ({ a, b }) => Number(a) + Number(b),                  // → <AddResponse><AddResult>5</AddResult>
 *       Notify: { oneWay: true, handler: ({ msg }) => log(msg) },        // → 202, no reply
 *       Divide: ({ a, b }) => { if (Number(b) === 0) throw new SoapFault({ code: 'Sender', reason: 'Cannot divide by zero' }); … },
 *     },
 *   });
 *   …
 *   await reg.close();
 *
 * Arguments arrive as strings (nested elements as objects, repeats as arrays, xsi:nil as null),
 * or, with `typedArguments: true` and a WSDL, typed by the WSDL's XML Schema (numbers, booleans,
 * Dates, Buffers, arrays for repeatable elements; ../soap/xsd-values.ts); see soap-rpc.ts for
 * how results are written. A thrown SoapFault becomes that fault; any other
 * error becomes a Receiver fault whose reason is the message only with includeExceptionDetail.
 * The client reconnects and registers again when the agent restarts.
 */
import { EventEmitter } from 'node:events';
import { Client } from 'net-ipc';
import type { IpcCall, IpcCallReply, IpcFault, IpcOperationInfo, IpcRegister, IpcRegisterReply } from './ipc-protocol';
import { IPC_PROTOCOL_VERSION } from './ipc-protocol';
import { readWsdlInfo } from '../../protocol/soap/wsdl-info';
import { readXsdSchema, typedValue, type XsdType } from '../soap/xsd-values';

export interface OperationContext {
  readonly operation: string;
  readonly action?: string;
  /** The caller's SOAP version. */
  readonly soapVersion: '1.1' | '1.2';
  readonly path: string;
}

export type OperationHandler = (args: Record<string, unknown>, context: OperationContext) => unknown;

export interface OperationDefinition {
  readonly handler: OperationHandler;
  /** One-way operation: the caller gets HTTP 202 at once; the handler's result is ignored. */
  readonly oneWay?: boolean;
  /** Write the result object's fields directly in `{Op}Response` (default: inside `{Op}Result`). */
  readonly bare?: boolean;
}

export interface RegisterServiceOptions {
  /** The agent's IPC socket (target.socketPath in the agent's config). */
  readonly socketPath: string;
  /** The agent path (hybrid connection) to serve; it must be an `ipc` service of the agent. */
  readonly path: string;
  readonly operations: Readonly<Record<string, OperationHandler | OperationDefinition>>;
  /** WSDL XML the agent serves for `?wsdl` (and, with typedArguments, the arguments' types). */
  readonly wsdl?: string;
  /**
   * Type the arguments by the WSDL's inline XML Schema (the operation's input element) instead of
   * passing strings. Needs `wsdl`. Default false.
   */
  readonly typedArguments?: boolean;
  /** Put messages of unexpected errors in faults (WCF's IncludeExceptionDetailInFaults). Default false. */
  readonly includeExceptionDetail?: boolean;
  /** Reconnect and register again when the connection drops (default true). */
  readonly reconnect?: boolean;
}

export interface SoapFaultOptions extends IpcFault {}

/**
 * Throw from an operation to answer with this SOAP fault (typed faults: subcode, detail, action).
 * Without an action, a registered WSDL names it from the detail's element (as WCF's
 * [FaultContract] does); without either, WS-Addressing callers get WCF's generic fault action.
 */
export class SoapFault extends Error {
  readonly fault: IpcFault;
  constructor(fault: SoapFaultOptions) {
    super(fault.reason);
    this.name = 'SoapFault';
    this.fault = { code: fault.code ?? 'Receiver', reason: fault.reason, subcode: fault.subcode, detail: fault.detail, action: fault.action };
  }
}

export const INTERNAL_ERROR_REASON = 'The server was unable to process the request due to an internal error.';

export interface IpcServiceRegistration extends EventEmitter<{ registered: []; disconnected: [reason: unknown]; error: [err: Error] }> {
  readonly path: string;
  close(): Promise<void>;
}

function normalize(ops: RegisterServiceOptions['operations']): Map<string, OperationDefinition> {
  const out = new Map<string, OperationDefinition>();
  for (const [name, def] of Object.entries(ops)) out.set(name, typeof def === 'function' ? { handler: def } : def);
  return out;
}

/** operation name → its arguments typed by the WSDL's schema (operations it does not describe: as they came). */
function argumentTyper(wsdl: string): (operation: string, args: Record<string, unknown>) => Record<string, unknown> {
  const info = readWsdlInfo(wsdl);
  const schema = readXsdSchema([wsdl]);
  const types = new Map<string, XsdType | undefined>();
  for (const op of info.operations) if (op.inputElement) types.set(op.name, schema.elementType(op.inputElement));
  // The agent names an operation by its wrapper element, which is usually the operation's name.
  for (const op of info.operations) if (op.inputElement && !types.has(op.inputElement.localName)) types.set(op.inputElement.localName, schema.elementType(op.inputElement));
  return (operation, args) => {
    const type = types.get(operation);
    const typed = type ? typedValue(type, args) : args;
    return typed !== null && typeof typed === 'object' && !Array.isArray(typed) ? (typed as Record<string, unknown>) : args;
  };
}

/** Connects to the agent and registers the operations; resolves once the agent accepted them. */
export async function registerService(options: RegisterServiceOptions): Promise<IpcServiceRegistration> {
  const ops = normalize(options.operations);
  if (options.typedArguments && options.wsdl === undefined) throw new Error('registerService: typedArguments needs the wsdl option');
  const typeArgs = options.typedArguments ? argumentTyper(options.wsdl!) : undefined;
  const client = new Client({ path: options.socketPath, reconnect: options.reconnect ?? true });
  const events = new EventEmitter<{ registered: []; disconnected: [reason: unknown]; error: [err: Error] }>();
  const register: IpcRegister = {
    t: 'register',
    v: IPC_PROTOCOL_VERSION,
    path: options.path,
    operations: [...ops].map(([name, d]): IpcOperationInfo => ({ name, oneWay: d.oneWay === true, bare: d.bare === true })),
    wsdl: options.wsdl,
  };

  const run = async (msg: IpcCall): Promise<IpcCallReply> => {
    const def = ops.get(msg.operation);
    if (!def) return { ok: false, fault: { code: 'Sender', reason: `unknown operation ${msg.operation}` } };
    try {
      const args = msg.args ?? {};
      const result = await def.handler(typeArgs ? typeArgs(msg.operation, args) : args, { operation: msg.operation, action: msg.action, soapVersion: msg.soapVersion, path: msg.path });
      return { ok: true, result: serializable(result) };
    } catch (err) {
      if (err instanceof SoapFault) return { ok: false, fault: err.fault };
      const reason = options.includeExceptionDetail ? (err instanceof Error ? err.message : String(err)) : INTERNAL_ERROR_REASON;
      return { ok: false, fault: { code: 'Receiver', reason } };
    }
  };
  client.on('request', (req: IpcCall, respond: (d: unknown) => Promise<void>) => {
    void run(req).then((reply) => respond(reply).catch(() => undefined));
  });
  client.on('message', (msg: IpcCall) => {
    if (msg && msg.t === 'notify') void run(msg);
  });
  client.on('close', (reason: unknown) => events.emit('disconnected', reason));
  client.on('error', (err: unknown) => {
    if (events.listenerCount('error')) events.emit('error', err instanceof Error ? err : new Error(String(err)));
  });

  const doRegister = async (): Promise<void> => {
    const reply = (await client.request(register, 10_000)) as IpcRegisterReply;
    if (!reply || reply.ok !== true) throw new Error(`the agent refused the registration of '${options.path}': ${(reply as { error?: string })?.error ?? 'no reply'}`);
    events.emit('registered');
  };
  // After a reconnect net-ipc emits 'ready' again: register again.
  let first = true;
  client.on('ready', () => {
    if (first) return;
    doRegister().catch((err: unknown) => {
      if (events.listenerCount('error')) events.emit('error', err as Error);
    });
  });
  try {
    await client.connect();
    first = false;
    await doRegister();
  } catch (err) {
    client.destroy();
    throw err instanceof Error ? err : new Error(`cannot connect to the agent at ${options.socketPath}: ${String(err)}`);
  }
  return Object.assign(events, {
    path: options.path,
    async close() {
      await client.close().catch(() => undefined);
    },
  });
}

/** Buffers and Dates survive JSON as base64 / ISO text, as they would be written in XML. */
function serializable(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(serializable);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = serializable(v);
    return out;
  }
  return value;
}
