/**
 * The agent's IPC endpoint: a net-ipc server on a unix socket (a named pipe on Windows) where
 * local Node processes register SOAP operations for one of the agent's `ipc` paths. Several
 * processes may register the same path (calls rotate among them); a process that disconnects
 * is dropped and its in-flight calls fail at once (net-ipc itself would wait for the timeout).
 */
import fs from 'node:fs';
import { Server, type Connection } from 'net-ipc';
import { RelayError, TimeoutError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { checkRegister, isCallReply, type IpcCall, type IpcCallReply, type IpcOperationInfo, type IpcRegister } from './ipc-protocol';

export interface IpcRegistration {
  readonly path: string;
  readonly operations: ReadonlyMap<string, IpcOperationInfo>;
  readonly wsdl?: string;
  readonly connection: Connection;
}

interface ConnectionState {
  readonly registrations: IpcRegistration[];
  readonly inFlight: Set<(err: Error) => void>;
}

const normal = (p: string) => p.replace(/^\/+|\/+$/g, '').toLowerCase();

export class IpcHub {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #paths = new Set<string>();
  readonly #byPath = new Map<string, IpcRegistration[]>();
  readonly #connections = new Map<Connection, ConnectionState>();
  readonly #log: Logger;
  #next = 0;
  #started: Promise<void> | undefined;

  constructor(socketPath: string, logger: Logger) {
    this.socketPath = socketPath;
    this.#log = logger.child({ socketPath });
    this.#server = new Server({ path: socketPath });
    this.#server.on('request', (req: unknown, respond: (d: unknown) => Promise<void>, conn: Connection) => {
      void respond(this.#onRequest(req, conn)).catch(() => undefined);
    });
    this.#server.on('disconnect', (conn: Connection) => this.#drop(conn));
    this.#server.on('error', (err: unknown) => this.#log.debug({ err: String((err as Error)?.message ?? err) }, 'ipc connection error'));
  }

  /** Allows processes to register `path` on this socket. */
  allow(path: string): void {
    this.#paths.add(normal(path));
  }

  start(): Promise<void> {
    this.#started ??= this.#server.start().then(() => {
      // Only this user's processes may register services.
      if (process.platform !== 'win32') fs.chmodSync(this.socketPath, 0o600);
      this.#log.info('IPC endpoint listening');
    });
    return this.#started;
  }

  async close(): Promise<void> {
    if (!this.#started) return;
    await this.#started.catch(() => undefined);
    for (const conn of [...this.#connections.keys()]) this.#drop(conn);
    await this.#server.close().catch(() => undefined);
    if (process.platform !== 'win32') fs.rmSync(this.socketPath, { force: true });
  }

  /** The registration that serves `operation` on `path` (rotating among processes), if any. */
  pick(path: string, operation?: string): IpcRegistration | undefined {
    const regs = this.#byPath.get(normal(path));
    if (!regs?.length) return undefined;
    const candidates = operation === undefined ? regs : regs.filter((r) => r.operations.has(operation));
    if (!candidates.length) return undefined;
    return candidates[this.#next++ % candidates.length];
  }

  registered(path: string): readonly IpcRegistration[] {
    return this.#byPath.get(normal(path)) ?? [];
  }

  /** Sends a call and waits for the reply; fails at once when the process goes away. */
  call(reg: IpcRegistration, msg: IpcCall, timeoutMs: number): Promise<IpcCallReply> {
    const state = this.#connections.get(reg.connection);
    if (!state) return Promise.reject(gone(reg.path));
    return new Promise<IpcCallReply>((resolve, reject) => {
      const onGone = (err: Error) => reject(err);
      state.inFlight.add(onGone);
      const done = () => state.inFlight.delete(onGone);
      const request = msg.t === 'notify' ? reg.connection.send(msg).then(() => ({ ok: true }) as const) : reg.connection.request(msg, timeoutMs);
      request.then(
        (reply: unknown) => {
          done();
          if (isCallReply(reply)) resolve(reply);
          else reject(new RelayError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', `the local process for '${reg.path}' sent an invalid reply`));
        },
        (err: unknown) => {
          done();
          const text = String((err as Error)?.message ?? err);
          if (/timed? ?out/i.test(text)) reject(new TimeoutError('RELAY_ERR_TIMEOUT', `the local process for '${reg.path}' did not answer ${msg.operation} in ${timeoutMs} ms`));
          else reject(new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the local process for '${reg.path}' failed: ${text}`));
        },
      );
    });
  }

  #onRequest(req: unknown, conn: Connection): unknown {
    const problem = checkRegister(req);
    if (problem) return { ok: false, error: `invalid register request: ${problem}` };
    const r = req as IpcRegister;
    if (!this.#paths.has(normal(r.path))) return { ok: false, error: `path '${r.path}' is not an ipc service of this agent on ${this.socketPath}` };
    let state = this.#connections.get(conn);
    if (!state) {
      state = { registrations: [], inFlight: new Set() };
      this.#connections.set(conn, state);
    }
    const reg: IpcRegistration = {
      path: r.path,
      operations: new Map(r.operations.map((o) => [o.name, { name: o.name, oneWay: o.oneWay === true, bare: o.bare === true }])),
      wsdl: r.wsdl,
      connection: conn,
    };
    // A process re-registering a path replaces its earlier registration.
    this.#remove(conn, normal(r.path));
    state.registrations.push(reg);
    const list = this.#byPath.get(normal(r.path)) ?? [];
    list.push(reg);
    this.#byPath.set(normal(r.path), list);
    this.#log.info({ path: r.path, operations: [...reg.operations.keys()] }, 'local process registered');
    return { ok: true };
  }

  #remove(conn: Connection, path: string): void {
    const state = this.#connections.get(conn);
    if (state) {
      for (let i = state.registrations.length - 1; i >= 0; i--) if (normal(state.registrations[i]!.path) === path) state.registrations.splice(i, 1);
    }
    const list = this.#byPath.get(path);
    if (list) {
      const kept = list.filter((r) => r.connection !== conn);
      if (kept.length) this.#byPath.set(path, kept);
      else this.#byPath.delete(path);
    }
  }

  #drop(conn: Connection): void {
    const state = this.#connections.get(conn);
    if (!state) return;
    this.#connections.delete(conn);
    for (const reg of state.registrations) {
      this.#remove(conn, normal(reg.path));
      this.#log.info({ path: reg.path }, 'local process disconnected');
    }
    const path = state.registrations[0]?.path ?? '?';
    for (const fail of state.inFlight) fail(gone(path));
    state.inFlight.clear();
    try {
      conn.destroy();
    } catch {
      /* already closed */
    }
  }
}

function gone(path: string): RelayError {
  return new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the local process serving '${path}' disconnected`);
}
