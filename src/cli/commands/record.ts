/**
 * `relaybridge record --target URL --dir DIR [--listen [HOST:]PORT] [--max-cases N] [--max-bytes N]
 *   [--redact NAME]... [--redact-header NAME]...`: a recording proxy in front of a SOAP service
 * (../replay/recorder.ts). Runs until SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { DEFAULT_REDACT, DEFAULT_REDACT_HEADERS, Recorder } from '../replay/recorder';
import { parseListen } from '../listen';
import { UsageError } from '../spec';

export interface RecordCommandInput {
  target?: string;
  dir?: string;
  listen?: string;
  maxCases?: number;
  maxBytes?: number;
  redact?: string[];
  redactHeaders?: string[];
}

export async function startRecorder(input: RecordCommandInput, print: (line: string) => void): Promise<{ recorder: Recorder; url: string; stop: () => Promise<void> }> {
  const missing = [!input.target && '--target URL: the service to record', !input.dir && '--dir DIR: the replay folder to write'].filter(Boolean) as string[];
  if (missing.length) throw new UsageError('relaybridge record', missing.join('; '));
  if (!/^https?:\/\//i.test(input.target!)) throw new UsageError('relaybridge record', `--target ${input.target}: expected an http:// or https:// URL`);
  const { host, port } = parseListen(input.listen ?? '127.0.0.1:0', '--listen');
  const recorder = new Recorder({
    target: input.target!,
    dir: input.dir!,
    maxCases: input.maxCases ?? 1000,
    maxMessageBytes: input.maxBytes ?? 1024 * 1024,
    redact: [...DEFAULT_REDACT, ...(input.redact ?? [])],
    redactHeaders: [...DEFAULT_REDACT_HEADERS, ...(input.redactHeaders ?? [])],
    log: print,
  });
  await new Promise<void>((resolve, reject) => {
    recorder.server.once('error', reject);
    recorder.server.listen(port, host, () => resolve());
  });
  const bound = recorder.server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  print(`recording calls to ${input.target} at ${url} into ${input.dir}`);
  return {
    recorder,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        recorder.server.close(() => resolve());
        recorder.server.closeAllConnections();
      }),
  };
}
