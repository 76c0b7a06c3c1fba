#!/usr/bin/env node
/**
 * relaybridge command line. The only module that reads argv, env and files, or exits.
 *
 *   relaybridge demo [--port 9443] [--data-dir ./.relaybridge]
 *   relaybridge relay --config relay.yaml [--port N] [--host H] [--log-level L]
 *   relaybridge agent --config agent.yaml [--log-level L] [--health-port N]
 *   relaybridge token --uri URL --key-name NAME --key KEY [--ttl SECONDS]
 *   relaybridge hc list|show|create|delete [path] [--anonymous] [--metadata TEXT]
 *   relaybridge rule list|create|delete [keyName] [--path P] [--rights Listen,Send,Manage]
 *   relaybridge cert --out DIR [--host NAME ...]
 *   relaybridge replay --dir FOLDER --relay URL --path P [--key-name N --key K] [--ignore NAME]...
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSasToken } from '../auth/sas-token';
import { ConfigError, RelayError } from '../core/errors';
import { startAgentFromConfig } from './commands/agent';
import { runDemo } from './commands/demo';
import { runManage } from './commands/manage';
import { replayCommand } from './commands/replay';
import { startRelayFromConfig } from './commands/relay';
import { createCliLogger } from './logger';
import { generateSelfSigned } from './tls';

const USAGE = `usage: relaybridge <command> [options]

commands:
  demo                     relay + agent + sample service on this machine (embedded store)
  relay --config FILE      run a relay            (options: --port, --host, --log-level)
  agent --config FILE      run an agent           (options: --log-level, --health-port N)
  token --uri URL --key-name NAME --key KEY [--ttl SECONDS]
                           mint a SAS token
  hc list|show|create|delete [path] [--anonymous] [--metadata TEXT]
  rule list|create|delete [keyName] [--path P] [--rights Listen,Send,Manage]
                           manage hybrid connections and rules (--relay URL --key-name --key)
  cert --out DIR [--host NAME]...
                           write a self-signed certificate for local use
  replay --dir FOLDER --relay URL --path P [--key-name NAME --key KEY | --token T]
         [--ignore NAME]... [--ignore-value REGEX]... [--no-default-ignores] [--timeout-ms N]
                           replay recorded SOAP requests through the relay and compare the
                           answers with the recorded ones (exit 1 on any mismatch)
`;

/** Longest a clean shutdown may take before the process exits anyway (status 1), ms. */
const SHUTDOWN_DEADLINE_MS = 30_000;

/**
 * SIGTERM/SIGINT: a clean stop, then exit 0 (so `Restart=on-failure` leaves a stopped service
 * stopped). A second signal, a failed stop or one over SHUTDOWN_DEADLINE_MS exits 1.
 */
function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`relaybridge: shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`relaybridge: shutdown failed: ${(err as Error)?.message ?? String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const env = process.env;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      host: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'data-dir': { type: 'string' },
      uri: { type: 'string' },
      'key-name': { type: 'string' },
      key: { type: 'string' },
      ttl: { type: 'string' },
      relay: { type: 'string' },
      anonymous: { type: 'boolean' },
      metadata: { type: 'string' },
      path: { type: 'string' },
      rights: { type: 'string' },
      out: { type: 'string' },
      dir: { type: 'string' },
      token: { type: 'string' },
      ignore: { type: 'string', multiple: true },
      'ignore-value': { type: 'string', multiple: true },
      'no-default-ignores': { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      'health-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ConfigError('invalid option', [`--${name}: expected a non-negative integer, got "${v}"`]);
    return n;
  };
  if (!command || values.help || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'demo': {
      const logger = createCliLogger(values['log-level'] ?? env.RELAYBRIDGE_LOG_LEVEL ?? 'warn');
      const demo = await runDemo({
        port: num(values.port, 'port') ?? Number(env.RELAYBRIDGE_PORT ?? 9443),
        dataDir: path.resolve(values['data-dir'] ?? './.relaybridge'),
        logger,
      });
      process.stdout.write(demo.banner);
      onShutdown(() => demo.stop());
      return -1;
    }
    case 'relay': {
      const relay = await startRelayFromConfig({
        config: values.config,
        port: num(values.port, 'port'),
        host: values.host?.[0],
        logLevel: values['log-level'],
        env,
      });
      process.stdout.write(`relay listening on ${relay.url}\n`);
      onShutdown(() => relay.close());
      return -1;
    }
    case 'agent': {
      // An invalid config throws here (exit 1, naming the option); after that the agent runs
      // until a signal, reconnecting to the relay for as long as it takes.
      const agent = startAgentFromConfig({ config: values.config, logLevel: values['log-level'], healthPort: num(values['health-port'], 'health-port'), env });
      onShutdown(() => agent.stop());
      // A local port it cannot open (IPC socket, health port) is fatal: exit 1 after a clean stop.
      await agent.whenStarted().catch(async (err: unknown) => {
        await agent.stop().catch(() => undefined);
        throw err;
      });
      return -1;
    }
    case 'token': {
      const uri = values.uri;
      const keyName = values['key-name'] ?? env.RELAYBRIDGE_KEY_NAME;
      const key = values.key ?? env.RELAYBRIDGE_KEY;
      const issues = [!uri && '--uri: required', !keyName && '--key-name: required', !key && '--key: required'].filter(Boolean) as string[];
      if (issues.length) throw new ConfigError('missing options', issues);
      process.stdout.write(`${createSasToken({ resourceUri: uri!, keyName: keyName!, key: key!, expiresInSeconds: num(values.ttl, 'ttl') ?? 3600 })}\n`);
      return 0;
    }
    case 'hc':
    case 'rule': {
      const { status, data } = await runManage(command, positionals, { anonymous: values.anonymous, metadata: values.metadata, path: values.path, rights: values.rights }, {
        relay: values.relay ?? env.RELAYBRIDGE_RELAY_URL ?? '',
        keyName: values['key-name'] ?? env.RELAYBRIDGE_KEY_NAME ?? '',
        key: values.key ?? env.RELAYBRIDGE_KEY ?? '',
      });
      process.stdout.write(`${data === undefined ? `HTTP ${status}` : JSON.stringify(data, null, 2)}\n`);
      return status >= 400 ? 1 : 0;
    }
    case 'cert': {
      if (!values.out) throw new ConfigError('missing options', ['--out: the directory to write relay-cert.pem and relay-key.pem to']);
      const pems = await generateSelfSigned(values.host ?? ['localhost', '127.0.0.1']);
      fs.mkdirSync(values.out, { recursive: true });
      fs.writeFileSync(path.join(values.out, 'relay-cert.pem'), pems.cert);
      fs.writeFileSync(path.join(values.out, 'relay-key.pem'), pems.key, { mode: 0o600 });
      process.stdout.write(`wrote ${path.join(values.out, 'relay-cert.pem')} and relay-key.pem\n`);
      return 0;
    }
    case 'replay':
      return replayCommand(
        {
          dir: values.dir,
          relay: values.relay ?? env.RELAYBRIDGE_RELAY_URL,
          path: values.path,
          keyName: values['key-name'] ?? env.RELAYBRIDGE_KEY_NAME,
          key: values.key ?? env.RELAYBRIDGE_KEY,
          token: values.token,
          ignore: values.ignore,
          ignoreValues: values['ignore-value'],
          noDefaultIgnores: values['no-default-ignores'],
          timeoutMs: num(values['timeout-ms'], 'timeout-ms'),
        },
        (line) => process.stdout.write(`${line}\n`),
      );
    default:
      process.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`relaybridge: ${err.message}\n`);
    else if (err instanceof RelayError) process.stderr.write(`relaybridge: ${err.code}: ${err.message}\n`);
    else if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write(`relaybridge: ${(err as Error).message}\n\n${USAGE}`);
    else if ((err as { code?: string }).code === 'EADDRINUSE') process.stderr.write(`relaybridge: the port is already in use (${(err as Error).message}); pick another with --port\n`);
    else process.stderr.write(`relaybridge: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
