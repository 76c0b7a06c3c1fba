#!/usr/bin/env node
/**
 * relaybridge command line. The only module that reads argv, env and files, or exits.
 * The command table, with every option, is spec.ts (`relaybridge COMMAND --help`).
 *
 * Exit codes: 0 ok; 1 failure (it ran and failed: network, refused, invalid config, HTTP error
 * from the management API); 2 usage (unknown command or option, missing or extra argument, bad
 * option value). Command modules are required lazily, so a command that starts no server (help,
 * version, token, key, hc/rule) loads neither express nor soap.
 */
import fs from 'node:fs';
import path from 'node:path';
import { version } from './version';
import { ConfigError, RelayError } from '../core/errors';
import { envCredentials, resolveCredentials, type CredentialLayer } from './credentials';
import { describeNetworkError } from './net-errors';
import { helpText, intOption, parseCommandLine, UsageError, type Parsed } from './spec';

/** Longest a clean shutdown may take before the process exits anyway (status 1), ms. */
const SHUTDOWN_DEADLINE_MS = 30_000;


/**
 * SIGTERM/SIGINT: a clean stop, then exit 0 (so `Restart=on-failure` leaves a stopped service
 * stopped). A second signal, a failed stop or one over SHUTDOWN_DEADLINE_MS exits 1.
 */
function onShutdown(stop: () => Promise<void>, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`relaybridge: shutdown took longer than ${deadlineMs} ms; exiting\n`);
      process.exit(1);
    }, deadlineMs).unref();
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

/** `demo --nodes N`: 1 to 9. */
function demoNodes(p: Parsed): number {
  const n = intOption(p, 'nodes') ?? 1;
  if (n < 1 || n > 9) throw new UsageError(p.command.join(' '), `--nodes: expected 1 to 9, got ${n}`);
  return n;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function readCa(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('invalid option', [`--ca: ${(err as Error).message}`]);
  }
}

/** env < flags, for the commands that talk to a relay without a config file. */
function flagCredentials(p: Parsed, env: NodeJS.ProcessEnv) {
  const flags: CredentialLayer = {
    source: 'flags',
    relayUrl: str(p.values.relay),
    connectionString: str(p.values['connection-string']),
    keyName: str(p.values['key-name']),
    key: str(p.values.key),
    token: str(p.values.token),
  };
  try {
    return resolveCredentials([envCredentials(env), flags]);
  } catch (err) {
    // Half a credential on the command line is a usage error (exit 2); in the environment, a failure.
    const fromFlags = flags.connectionString || flags.keyName || flags.key || flags.token;
    if (err instanceof ConfigError && fromFlags) throw new UsageError(['relaybridge', ...p.command].join(' '), err.message);
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  // `relaybridge help [COMMAND…]` is `relaybridge [COMMAND…] --help`.
  const p = parseCommandLine(argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv);
  const [command, ...sub] = p.command;
  if (p.help) {
    process.stdout.write(helpText(p.specs));
    return 0;
  }
  if (!command) {
    if (p.values.version) {
      process.stdout.write(`relaybridge ${version()}\n`);
      return 0;
    }
    throw new UsageError('relaybridge', 'expected a command');
  }
  switch (command) {
    case 'demo': {
      serving = true;
      const { createCliLogger, resolveLogFormat } = await import('./logger');
      const { runDemo } = await import('./commands/demo');
      const logger = createCliLogger(str(p.values['log-level']) ?? env.RELAYBRIDGE_LOG_LEVEL ?? 'warn', resolveLogFormat(str(p.values['log-format']) ?? env.RELAYBRIDGE_LOG_FORMAT));
      const demo = await runDemo({
        port: intOption(p, 'port') ?? Number(env.RELAYBRIDGE_PORT ?? 9443),
        dataDir: path.resolve(str(p.values['data-dir']) ?? './.relaybridge'),
        nodes: demoNodes(p),
        logger,
      });
      process.stdout.write(demo.banner);
      onShutdown(() => demo.stop());
      return -1;
    }
    case 'relay': {
      serving = true;
      const { startRelayFromConfig } = await import('./commands/relay');
      const relay = await startRelayFromConfig({
        config: str(p.values.config),
        port: intOption(p, 'port'),
        host: str(p.values.host),
        logLevel: str(p.values['log-level']),
        logFormat: str(p.values['log-format']),
        env,
      });
      process.stdout.write(`relay listening on ${relay.url}\n`);
      // A graceful stop: calls in flight get drainGraceMs, listeners re-home to other nodes.
      onShutdown(() => relay.drain(), relay.config.drainGraceMs + SHUTDOWN_DEADLINE_MS);
      return -1;
    }
    case 'forward': {
      serving = true;
      const { startForwarder } = await import('./commands/forward');
      const { forwarder, bound } = await startForwarder({
        config: str(p.values.config),
        listen: str(p.values.listen),
        path: str(p.values.path),
        http: p.values.http === true,
        relay: str(p.values.relay),
        connectionString: str(p.values['connection-string']),
        keyName: str(p.values['key-name']),
        key: str(p.values.key),
        token: str(p.values.token),
        caFile: str(p.values.ca),
        proxy: str(p.values.proxy),
        logLevel: str(p.values['log-level']),
        logFormat: str(p.values['log-format']),
        env,
      });
      for (const f of bound) process.stdout.write(`forwarding ${f.host}:${f.boundPort} -> ${f.path} (${f.type})\n`);
      onShutdown(() => forwarder.stop());
      return -1;
    }
    case 'agent': {
      serving = true;
      const { startAgentFromConfig } = await import('./commands/agent');
      // An invalid config throws here (exit 1, naming the option); after that the agent runs
      // until a signal, reconnecting to the relay for as long as it takes.
      const agent = startAgentFromConfig({
        config: str(p.values.config),
        logLevel: str(p.values['log-level']),
        logFormat: str(p.values['log-format']),
        healthPort: intOption(p, 'health-port'),
        relay: str(p.values.relay),
        connectionString: str(p.values['connection-string']),
        keyName: str(p.values['key-name']),
        key: str(p.values.key),
        token: str(p.values.token),
        expose: p.values.expose as string[] | undefined,
        caFile: str(p.values.ca),
        proxy: str(p.values.proxy),
        env,
      });
      onShutdown(() => agent.stop());
      // A local port it cannot open (IPC socket, health port) is fatal: exit 1 after a clean stop.
      await agent.whenStarted().catch(async (err: unknown) => {
        await agent.stop().catch(() => undefined);
        throw err;
      });
      return -1;
    }
    case 'token': {
      const { createSasToken } = await import('../auth/sas-token');
      const creds = flagCredentials(p, env);
      const uri = str(p.values.uri) ?? (creds.connection ? `${creds.connection.relayUrl}/${creds.connection.entityPath ?? ''}`.replace(/\/$/, '') : undefined);
      const issues = [!uri && '--uri: required (or a --connection-string)', !(creds.keyName && creds.key) && '--key-name/--key or --connection-string: required'].filter(Boolean) as string[];
      if (issues.length) throw new UsageError('relaybridge token', `${issues.join('; ')}`);
      process.stdout.write(`${createSasToken({ resourceUri: uri!, keyName: creds.keyName!, key: creds.key!, expiresInSeconds: intOption(p, 'ttl') ?? 3600 })}\n`);
      return 0;
    }
    case 'key': {
      const { generateKey } = await import('../auth/rules');
      process.stdout.write(`${generateKey()}\n`);
      return 0;
    }
    case 'hc':
    case 'rule': {
      const { runManage } = await import('./commands/manage');
      const { outputFormat, render } = await import('./output');
      const format = outputFormat(p.values.output, `relaybridge ${p.command.join(' ')}`);
      const creds = flagCredentials(p, env);
      const { status, data } = await runManage(command, [...sub, ...p.positionals], p.values, {
        relay: creds.relayUrl ?? '',
        keyName: creds.keyName ?? '',
        key: creds.key ?? '',
        ca: readCa(str(p.values.ca)),
      });
      if (status >= 400) {
        const err = (data as { error?: { code?: string; message?: string } })?.error;
        process.stderr.write(`relaybridge: HTTP ${status}${err?.code ? ` ${err.code}` : ''}: ${err?.message ?? (typeof data === 'string' ? data : 'refused')}\n`);
        return 1;
      }
      process.stdout.write(data === undefined ? `done (HTTP ${status})\n` : render(data, format));
      return 0;
    }
    case 'store': {
      const { exportStore, importStore } = await import('./commands/store');
      const where = `relaybridge store ${sub[0]}`;
      if (!str(p.values.config)) throw new UsageError(where, '--config FILE is required (the relay config whose store to use)');
      if (sub[0] === 'import' && !str(p.values.in)) throw new UsageError(where, '--in FILE is required (a store file)');
      if (sub[0] === 'export') {
        const n = await exportStore(str(p.values.config), str(p.values.out));
        if (str(p.values.out)) process.stdout.write(`exported ${n.entities} hybrid connections and ${n.namespaceRules} namespace rules to ${str(p.values.out)}\n`);
        return 0;
      }
      const n = await importStore(str(p.values.config), str(p.values.in));
      process.stdout.write(`imported ${n.entities} hybrid connections and ${n.namespaceRules} namespace rules\n`);
      return 0;
    }
    case 'cert': {
      const { generateSelfSigned } = await import('./tls');
      const out = str(p.values.out);
      if (!out) throw new UsageError('relaybridge cert', '--out DIR is required (the directory to write relay-cert.pem and relay-key.pem to)');
      const pems = await generateSelfSigned((p.values.host as string[] | undefined) ?? ['localhost', '127.0.0.1']);
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'relay-cert.pem'), pems.cert);
      fs.writeFileSync(path.join(out, 'relay-key.pem'), pems.key, { mode: 0o600 });
      process.stdout.write(`wrote ${path.join(out, 'relay-cert.pem')} and relay-key.pem\n`);
      return 0;
    }
    case 'record': {
      serving = true;
      const { startRecorder } = await import('./commands/record');
      const rec = await startRecorder(
        {
          target: str(p.values.target),
          dir: str(p.values.dir),
          listen: str(p.values.listen),
          maxCases: intOption(p, 'max-cases'),
          maxBytes: intOption(p, 'max-bytes'),
          redact: p.values.redact as string[] | undefined,
          redactHeaders: p.values['redact-header'] as string[] | undefined,
        },
        (line) => process.stdout.write(`${line}\n`),
      );
      onShutdown(() => rec.stop());
      return -1;
    }
    case 'replay': {
      const { replayCommand } = await import('./commands/replay');
      const creds = flagCredentials(p, env);
      return replayCommand(
        {
          dir: str(p.values.dir),
          relay: creds.relayUrl,
          path: str(p.values.path) ?? creds.connection?.entityPath,
          keyName: creds.keyName,
          key: creds.key,
          token: creds.token,
          ignore: p.values.ignore as string[] | undefined,
          ignoreValues: p.values['ignore-value'] as string[] | undefined,
          unordered: p.values.unordered as string[] | undefined,
          noDefaultIgnores: p.values['no-default-ignores'] === true,
          timeoutMs: intOption(p, 'timeout-ms'),
          against: str(p.values.against),
          reportJunit: str(p.values['report-junit']),
          reportJson: str(p.values['report-json']),
        },
        (line) => process.stdout.write(`${line}\n`),
      );
    }
    default:
      throw new UsageError('relaybridge', `unknown command '${command}'`);
  }
}

/** Set by relay, agent and demo: a closed stdout must not stop a server that is serving calls. */
let serving = false;

// A closed stdout (`relaybridge hc list | head -0`) ends a command quietly instead of an
// unhandled EPIPE: there is nobody left to tell. A server keeps serving without its output.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    if (!serving) process.exit(process.exitCode ?? 0);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const exit = (code: number, text: string) => {
      process.stderr.write(text);
      process.exit(code);
    };
    if (err instanceof UsageError) return exit(2, `${err.command}: ${err.message}\nrun '${err.command} --help' for usage\n`);
    const net = describeNetworkError(err);
    if (net) return exit(1, `relaybridge: ${net}\n`);
    if (err instanceof ConfigError) return exit(1, `relaybridge: ${err.message}\n`);
    if (err instanceof RelayError) return exit(1, `relaybridge: ${err.code}: ${err.message}\n`);
    if ((err as { code?: string }).code === 'EADDRINUSE') return exit(1, `relaybridge: the port is already in use (${(err as Error).message}); pick another with --port\n`);
    if ((err as { code?: string }).code === 'EACCES') return exit(1, `relaybridge: ${(err as Error).message} (a port below 1024 needs privileges; pick another with --port)\n`);
    return exit(1, `relaybridge: ${(err as Error).stack ?? String(err)}\n`);
  },
);

