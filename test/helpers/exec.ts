/** Finding and running the external programs the suites need (mono, mcs, dotnet, nginx, chromium…). */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** True when `cmd` is an executable on PATH. */
export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * A real peer a suite needs (nginx, chromium, tinyproxy…): the path of the first of `names` on
 * PATH or among `paths`. Missing: undefined (the suite skips with a warning naming `install`),
 * except under RELAYBRIDGE_REQUIRE_INTEROP=1 (.ci/run), where it throws: CI cannot skip.
 */
export function requirePeer(names: readonly string[], install: string, paths: readonly string[] = []): string | undefined {
  const candidates = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).flatMap((dir) => names.map((n) => path.join(dir, n))), ...paths];
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* next */
    }
  }
  if (process.env.RELAYBRIDGE_REQUIRE_INTEROP === '1') throw new Error(`RELAYBRIDGE_REQUIRE_INTEROP=1 but ${names[0]} is not installed: ${install}`);
  return undefined;
}

/** Runs `cmd` to its end (SIGKILL after `timeoutMs`, then a rejection with what it printed). */
export function runToEnd(cmd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args[0] ?? ''} still running after ${timeoutMs} ms: ${stdout.slice(-2000)} ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
