/**
 * `relaybridge replay --dir FOLDER --relay URL --path P [--key-name N --key K | --token T]
 *   [--ignore NAME]... [--ignore-value REGEX]... [--no-default-ignores] [--timeout-ms N]
 *   [--report-junit FILE] [--report-json FILE]`
 * Replays recorded SOAP requests through the relay and compares the answers with the recorded
 * ones (folder format: ../replay/replay.ts). Exit code 0 when all match, 1 when a case does not
 * (or the folder cannot be read), 2 for a bad command line. The reports are written either way.
 */
import { createSasToken } from '../../auth/sas-token';
import { ConfigError } from '../../core/errors';
import fs from 'node:fs';
import { runReplay } from '../replay/replay';
import { jsonReport, junitReport } from '../replay/reports';
import { UsageError } from '../spec';

export interface ReplayCommandInput {
  dir?: string;
  relay?: string;
  path?: string;
  keyName?: string;
  key?: string;
  token?: string;
  ignore?: string[];
  ignoreValues?: string[];
  unordered?: string[];
  noDefaultIgnores?: boolean;
  timeoutMs?: number;
  /** `--against URL`: compare with this live service's answers instead of the recorded ones. */
  against?: string;
  /** Write a JUnit XML report here (CI test reporters). */
  reportJunit?: string;
  /** Write a JSON report here. */
  reportJson?: string;
}

export async function replayCommand(input: ReplayCommandInput, print: (line: string) => void): Promise<number> {
  const issues = [!input.dir && '--dir: the folder of recorded requests', !input.relay && '--relay: the relay URL', !input.path && '--path: the hybrid connection path'].filter(Boolean) as string[];
  if ((input.keyName && !input.key) || (!input.keyName && input.key)) issues.push('--key-name and --key go together');
  if (issues.length) throw new UsageError('relaybridge replay', issues.join('; '));
  const relay = input.relay!.replace(/\/+$/, '');
  const path = input.path!.replace(/^\/+|\/+$/g, '');
  const token =
    input.token ??
    (input.keyName && input.key ? createSasToken({ resourceUri: `${relay}/${path}`, keyName: input.keyName, key: input.key, expiresInSeconds: 3600 }) : undefined);
  // A baseline on the relay gets a token for its own path (with the same key).
  let against: { url: string; token?: string } | undefined;
  if (input.against) {
    const u = input.against.replace(/\/+$/, '');
    const onRelay = u.startsWith(`${relay}/`);
    against = {
      url: u,
      token: onRelay && input.keyName && input.key ? createSasToken({ resourceUri: u.split('?')[0]!, keyName: input.keyName, key: input.key, expiresInSeconds: 3600 }) : onRelay ? input.token : undefined,
    };
  }
  const summary = await runReplay(
    { against, dir: input.dir!, relayUrl: relay, path, token, ignore: input.ignore, ignoreValues: input.ignoreValues, unordered: input.unordered, noDefaultIgnores: input.noDefaultIgnores, timeoutMs: input.timeoutMs },
    print,
  );
  const write = (file: string, text: string): void => {
    try {
      fs.writeFileSync(file, text);
    } catch (err) {
      throw new ConfigError(`cannot write the report ${file}: ${(err as Error).message}`);
    }
    print(`wrote ${file}`);
  };
  if (input.reportJunit) write(input.reportJunit, junitReport(summary, `relaybridge replay ${path}`));
  if (input.reportJson) write(input.reportJson, jsonReport(summary));
  return summary.failed === 0 ? 0 : 1;
}
