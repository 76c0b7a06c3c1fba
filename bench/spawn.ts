/** Starts a bench role in a child process and waits for its first JSON line. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Role {
  child: ChildProcess;
  info: Record<string, unknown>;
  stop(): void;
  /** CPU time (user + system, all threads) the role has used so far, µs; NaN where /proc is missing. */
  cpuUs(): number;
  /** A full garbage collection in the role, done when it resolves. */
  collect(): Promise<void>;
  /** Writes `line` to the role's stdin and resolves with the first match of `answer` in what it prints next. */
  ask(line: string, answer: RegExp): Promise<RegExpExecArray>;
}

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ, 100 on every common kernel). */
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, µs; NaN when it is gone or /proc is missing. */
export function cpuUsOf(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** Extra node flags for the roles, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export function startRole(args: string[]): Promise<Role> {
  // Through sh, to raise the soft limit on open descriptors to the hard one first (Node cannot):
  // the scale bench holds tens of thousands of connections.
  const child = spawn('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'role', process.execPath, '--expose-gc', ...NODE_ARGS, path.join(__dirname, 'roles.js'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      resolve({
        child,
        info: JSON.parse(buf.slice(0, nl)),
        stop: () => child.stdin!.end(),
        cpuUs: () => cpuUsOf(child.pid),
        collect: () => ask(child, 'gc', /"gc":/).then(() => undefined),
        ask: (line, answer) => ask(child, line, answer),
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bench role ${args[0]} exited with ${code}`)));
  });
}

/** Writes a line to a role's stdin and waits for `answer` in what it prints. */
function ask(child: ChildProcess, line: string, answer: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      const m = answer.exec(buf);
      if (!m) return;
      child.stdout!.off('data', onData);
      resolve(m);
    };
    child.stdout!.on('data', onData);
    child.stdin!.write(`${line}\n`);
  });
}
