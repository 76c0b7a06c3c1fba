/**
 * The command table: every command and subcommand with its arguments and options, the help text
 * generated from it, and the argv parser (node:util parseArgs, strict: an option a command does
 * not take is refused, exit 2, naming it). Light on purpose: nothing here loads a server module,
 * so `--help`, `--version` and usage errors answer at once.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help (`URL`, `FILE`). */
  readonly arg?: string;
  readonly desc: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Positional arguments as shown in usage (`PATH`, `NAME`), required ones first. */
  readonly args?: readonly string[];
  /** How many positionals are optional at the end. */
  readonly optionalArgs?: number;
  readonly options?: Readonly<Record<string, OptionSpec>>;
  readonly sub?: readonly CommandSpec[];
  /** More text after the options (examples, notes). */
  readonly notes?: string;
}

/** A usage error: exit 2 (a bad command line), as opposed to 1 (it ran and failed). */
export class UsageError extends ConfigError {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.command = command;
  }
}

const LOG_LEVEL: OptionSpec = { type: 'string', arg: 'LEVEL', desc: 'trace|debug|info|warn|error|silent (env RELAYBRIDGE_LOG_LEVEL)' };
const LOG_FORMAT: OptionSpec = { type: 'string', arg: 'FORMAT', desc: 'json|pretty (env RELAYBRIDGE_LOG_FORMAT; default: pretty on a terminal, JSON otherwise)' };
const CREDS: Record<string, OptionSpec> = {
  relay: { type: 'string', arg: 'URL', desc: "the relay's base URL, e.g. https://relay.example.com:9443 (env RELAYBRIDGE_RELAY_URL); wins over a connection string's Endpoint" },
  'connection-string': { type: 'string', arg: 'CS', desc: 'Endpoint=sb://host[:port]/;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…] (env RELAYBRIDGE_CONNECTION_STRING)' },
  'key-name': { type: 'string', arg: 'NAME', desc: 'SAS rule name (env RELAYBRIDGE_KEY_NAME)' },
  key: { type: 'string', arg: 'KEY', desc: 'SAS rule key (env RELAYBRIDGE_KEY)' },
  ca: { type: 'string', arg: 'FILE', desc: "PEM CA or certificate to trust for an https relay (e.g. a self-signed relay's relay-cert.pem)" },
};
const TOKEN: OptionSpec = { type: 'string', arg: 'TOKEN', desc: 'a fixed SAS token instead of a key (env RELAYBRIDGE_TOKEN)' };
const PROXY: OptionSpec = { type: 'string', arg: 'URL', desc: 'an HTTP proxy to the relay, http://[user:password@]host:port (default: HTTPS_PROXY/HTTP_PROXY, NO_PROXY honoured)' };
const OUTPUT: Record<string, OptionSpec> = { output: { type: 'string', short: 'o', arg: 'FORMAT', desc: 'json (default) or table' } };
const MANAGE = { ...CREDS, ...OUTPUT };
const RULE_PATH: Record<string, OptionSpec> = { path: { type: 'string', arg: 'PATH', desc: "the hybrid connection whose rule it is; without it: a namespace rule" } };

export const COMMANDS: CommandSpec = {
  name: 'relaybridge',
  summary: 'A self-hosted, WCF-compatible SOAP/RPC relay speaking the Azure Relay Hybrid Connections protocol.',
  options: { version: { type: 'boolean', short: 'V', desc: 'print the version and exit' } },
  notes: [
    'exit codes: 0 ok, 1 failure (it ran and failed: network, refused, invalid config), 2 usage (bad command line)',
    "run 'relaybridge COMMAND --help' for a command's options",
  ].join('\n'),
  sub: [
    {
      name: 'demo',
      summary: 'relay + agent + a sample service on this machine (embedded store; --nodes N: N relay nodes on NATS)',
      options: {
        port: { type: 'string', arg: 'N', desc: 'relay port (default 9443, env RELAYBRIDGE_PORT)' },
        'data-dir': { type: 'string', arg: 'DIR', desc: 'store and demo credentials (default ./.relaybridge)' },
        nodes: { type: 'string', arg: 'N', desc: 'relay nodes on one namespace, 1-9 (default 1); over 1 starts nats-server (must be on PATH) as their store' },
        'log-level': LOG_LEVEL,
        'log-format': LOG_FORMAT,
      },
    },
    {
      name: 'relay',
      summary: 'run a relay until SIGTERM/SIGINT (then a clean stop, exit 0)',
      options: {
        config: { type: 'string', short: 'c', arg: 'FILE', desc: 'relay config (YAML or JSON); flags win over env, env over the file' },
        port: { type: 'string', arg: 'N', desc: 'port to listen on (0: any free port; env RELAYBRIDGE_PORT)' },
        host: { type: 'string', arg: 'HOST', desc: 'address to bind (env RELAYBRIDGE_HOST)' },
        'log-level': LOG_LEVEL,
        'log-format': LOG_FORMAT,
      },
    },
    {
      name: 'agent',
      summary: 'run an agent: dial out to the relay and serve the exposed paths, until SIGTERM/SIGINT',
      options: {
        config: { type: 'string', short: 'c', arg: 'FILE', desc: 'agent config (YAML or JSON); flags win over env, env over the file' },
        ...CREDS,
        token: TOKEN,
        expose: {
          type: 'string',
          multiple: true,
          arg: 'PATH=URL',
          desc: 'serve PATH from URL: http(s)://… (HTTP/SOAP), net.tcp://… (WCF), tcp://host:port or ws(s)://… (byte streams); repeatable; replaces the config file\'s services',
        },
        'health-port': { type: 'string', arg: 'N', desc: 'serve /$health and /$metrics on this local port (0: any)' },
        proxy: PROXY,
        'log-level': LOG_LEVEL,
        'log-format': LOG_FORMAT,
      },
      notes: 'example:\n  relaybridge agent --relay https://relay.example.com --connection-string "Endpoint=sb://…" \\\n    --expose credit-check=http://10.0.0.12:8080/Credit.svc',
    },
    {
      name: 'forward',
      summary: 'local ports to services behind an agent: each local TCP connection (or HTTP request, --http) goes through the relay, until SIGTERM/SIGINT',
      options: {
        config: { type: 'string', short: 'c', arg: 'FILE', desc: 'forward config (YAML or JSON) with several `forwards: [{ listen, path, type: tcp|http }]`; flags win over env, env over the file' },
        listen: { type: 'string', arg: '[HOST:]PORT', desc: 'local address to listen on (host default 127.0.0.1; port 0: any free port)' },
        path: { type: 'string', arg: 'PATH', desc: 'the hybrid connection whose agent serves a tcp (or, with --http, an http) target' },
        http: { type: 'boolean', desc: 'carry HTTP requests to an http target instead of bytes to a tcp target' },
        ...CREDS,
        token: TOKEN,
        proxy: PROXY,
        'log-level': LOG_LEVEL,
        'log-format': LOG_FORMAT,
      },
      notes: 'example:\n  relaybridge forward --listen 127.0.0.1:15432 --path reports-db --relay https://relay.example.com:9443 --connection-string "Endpoint=sb://…"\n  psql -h 127.0.0.1 -p 15432 …',
    },
    {
      name: 'token',
      summary: 'mint a SAS token',
      options: {
        uri: { type: 'string', arg: 'URL', desc: 'the resource, e.g. https://relay.example.com/orders (default: from the connection string)' },
        'connection-string': CREDS['connection-string']!,
        'key-name': CREDS['key-name']!,
        key: CREDS.key!,
        ttl: { type: 'string', arg: 'SECONDS', desc: 'lifetime (default 3600)' },
      },
    },
    { name: 'key', summary: 'print a new random key (256 bits, base64) for a rule in a relay config' },
    {
      name: 'hc',
      summary: 'manage hybrid connections (over the relay\'s management API; a Manage credential)',
      sub: [
        { name: 'list', summary: 'list hybrid connections with their listener counts', options: MANAGE },
        { name: 'show', summary: 'a hybrid connection, its listeners and the connection strings of its rules', args: ['PATH'], options: MANAGE },
        {
          name: 'create',
          summary: 'create (or update) a hybrid connection',
          args: ['PATH'],
          options: {
            anonymous: { type: 'boolean', desc: 'senders need no token (requiresClientAuthorization false)' },
            metadata: { type: 'string', arg: 'TEXT', desc: 'user metadata' },
            broadcast: { type: 'boolean', desc: 'event distribution: each one-way message goes to every listener on every node (answered 202)' },
            distribution: { type: 'string', arg: 'one|broadcast', desc: 'the same as a choice: broadcast, or one listener per call (the default)' },
            ...MANAGE,
          },
        },
        {
          name: 'update',
          summary: 'change an existing hybrid connection (only the options given)',
          args: ['PATH'],
          options: {
            anonymous: { type: 'boolean', desc: 'senders need no token' },
            'no-anonymous': { type: 'boolean', desc: 'senders need a Send token' },
            metadata: { type: 'string', arg: 'TEXT', desc: 'user metadata' },
            broadcast: { type: 'boolean', desc: 'event distribution: every listener gets each message' },
            'no-broadcast': { type: 'boolean', desc: 'one listener per call (the default)' },
            distribution: { type: 'string', arg: 'one|broadcast', desc: 'broadcast (every listener) or one (one listener per call)' },
            ...MANAGE,
          },
        },
        { name: 'delete', summary: 'delete a hybrid connection (its listeners are closed)', args: ['PATH'], options: CREDS },
      ],
    },
    {
      name: 'rule',
      summary: 'manage authorization rules and their keys (a Manage credential)',
      sub: [
        { name: 'list', summary: "namespace rules, or a hybrid connection's rules with --path", options: { ...RULE_PATH, ...MANAGE } },
        {
          name: 'create',
          summary: 'create a rule, or change its rights; an existing rule keeps its keys unless --regenerate',
          args: ['NAME'],
          options: {
            ...RULE_PATH,
            rights: { type: 'string', arg: 'LIST', desc: 'comma-separated Listen,Send,Manage (default Listen,Send)' },
            regenerate: { type: 'boolean', desc: 'new primary and secondary keys (breaks clients on the old ones)' },
            ...MANAGE,
          },
        },
        { name: 'delete', summary: 'delete a rule', args: ['NAME'], options: { ...RULE_PATH, ...CREDS } },
        {
          name: 'keys',
          summary: "a rule's keys and connection strings",
          sub: [
            { name: 'show', summary: "a rule's keys and connection strings", args: ['NAME'], options: { ...RULE_PATH, ...MANAGE } },
            {
              name: 'renew',
              summary: 'a new primary or secondary key (the other keeps working: rotate one at a time)',
              args: ['NAME'],
              options: {
                ...RULE_PATH,
                primary: { type: 'boolean', desc: 'renew the primary key' },
                secondary: { type: 'boolean', desc: 'renew the secondary key' },
                ...MANAGE,
              },
            },
          ],
        },
      ],
    },
    {
      name: 'store',
      summary: "copy a relay's entities and rules out of its store, or into it (file store <-> NATS)",
      sub: [
        {
          name: 'export',
          summary: 'write the store of a relay config as JSON (the file store format; keys included)',
          options: {
            config: { type: 'string', short: 'c', arg: 'FILE', desc: 'relay config whose store to read (required)' },
            out: { type: 'string', arg: 'FILE', desc: 'write here (mode 0600) instead of stdout' },
          },
        },
        {
          name: 'import',
          summary: 'write a store file (from export, or a file store itself) into the store of a relay config',
          options: {
            config: { type: 'string', short: 'c', arg: 'FILE', desc: 'relay config whose store to write (required)' },
            in: { type: 'string', arg: 'FILE', desc: 'the store file to read (required)' },
          },
        },
      ],
      notes: 'example (file store to NATS):\n  relaybridge store export -c relay-file.yaml --out store.json\n  relaybridge store import -c relay-nats.yaml --in store.json',
    },
    {
      name: 'cert',
      summary: 'write a self-signed certificate (relay-cert.pem, relay-key.pem) for local use',
      options: {
        out: { type: 'string', arg: 'DIR', desc: 'directory to write to (required)' },
        host: { type: 'string', multiple: true, arg: 'NAME', desc: 'a host name or IP for the certificate (repeatable; default localhost, 127.0.0.1)' },
      },
    },
    {
      name: 'record',
      summary: 'a recording proxy in front of a SOAP service: calls pass through unchanged and are written to a replay folder (secrets redacted), until SIGTERM/SIGINT',
      options: {
        target: { type: 'string', arg: 'URL', desc: "the service's endpoint URL, e.g. http://10.0.0.12:8080/Calculator.svc (required)" },
        dir: { type: 'string', arg: 'DIR', desc: 'the replay folder to write (required)' },
        listen: { type: 'string', arg: '[HOST:]PORT', desc: 'where the proxy listens (default 127.0.0.1, any free port); point the agent target or client here' },
        'max-cases': { type: 'string', arg: 'N', desc: 'record at most N calls (default 1000); later calls still pass' },
        'max-bytes': { type: 'string', arg: 'N', desc: 'larger messages pass but are not recorded (default 1048576)' },
        redact: { type: 'string', multiple: true, arg: 'NAME', desc: 'an element whose text is redacted, besides Password, BinarySecurityToken, RelayAccessToken, Nonce (repeatable)' },
        'redact-header': { type: 'string', multiple: true, arg: 'NAME', desc: 'a header never recorded, besides Authorization, ServiceBusAuthorization, Cookie, Proxy-Authorization (repeatable)' },
      },
    },
    {
      name: 'replay',
      summary: 'replay recorded SOAP requests through the relay and compare the answers (exit 1 on any mismatch; JUnit and JSON reports)',
      options: {
        dir: { type: 'string', arg: 'DIR', desc: 'the folder of recorded requests (required)' },
        path: { type: 'string', arg: 'PATH', desc: 'the hybrid connection path (required)' },
        relay: CREDS.relay!,
        'connection-string': CREDS['connection-string']!,
        'key-name': CREDS['key-name']!,
        key: CREDS.key!,
        token: { type: 'string', arg: 'TOKEN', desc: 'a SAS token instead of a key' },
        ignore: { type: 'string', multiple: true, arg: 'NAME', desc: 'an element or attribute to ignore in the comparison (repeatable)' },
        'ignore-value': { type: 'string', multiple: true, arg: 'REGEX', desc: 'values matching this are equal (repeatable)' },
        unordered: { type: 'string', multiple: true, arg: 'NAME', desc: "an element whose children may come in any order (repeatable; replay.json's `operations` sets rules per SOAP action)" },
        'no-default-ignores': { type: 'boolean', desc: 'compare MessageID, timestamps and the like too' },
        'timeout-ms': { type: 'string', arg: 'N', desc: 'per request (default 30000)' },
        against: { type: 'string', arg: 'URL', desc: "compare with this live service's answers (the legacy endpoint, directly or on the relay) instead of the recorded ones" },
        'report-junit': { type: 'string', arg: 'FILE', desc: 'write a JUnit XML report (one testsuite per operation) for CI' },
        'report-json': { type: 'string', arg: 'FILE', desc: 'write a JSON report (totals, per operation, every case with its diff)' },
      },
      notes: 'exit codes: 0 every case matches, 1 a case does not (or the folder cannot be read), 2 a bad command line',
    },
  ],
};

const HELP: OptionSpec = { type: 'boolean', short: 'h', desc: 'show this help' };

export function helpText(path: readonly CommandSpec[]): string {
  const spec = path[path.length - 1]!;
  const name = path.map((c) => c.name).join(' ');
  const lines: string[] = [];
  const args = (spec.args ?? []).map((a, i) => (i >= (spec.args!.length - (spec.optionalArgs ?? 0)) ? `[${a}]` : a)).join(' ');
  lines.push(`usage: ${name}${spec.sub ? ' COMMAND' : ''}${args ? ` ${args}` : ''} [options]`, '', spec.summary, '');
  if (spec.sub) {
    lines.push('commands:');
    const w = Math.max(...spec.sub.map((s) => (s.name + (s.args ? ` ${s.args.join(' ')}` : '')).length));
    for (const s of spec.sub) lines.push(`  ${(s.name + (s.args ? ` ${s.args.join(' ')}` : '')).padEnd(w)}  ${s.summary}`);
    lines.push('');
  }
  const opts = Object.entries({ ...(spec.options ?? {}), help: HELP });
  const label = ([n, o]: [string, OptionSpec]) => `${o.short ? `-${o.short}, ` : '    '}--${n}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
  const w = Math.max(...opts.map((o) => label(o).length));
  lines.push('options:');
  for (const o of opts) lines.push(`  ${label(o).padEnd(w)}  ${o[1].desc}${o[1].multiple ? ' (repeatable)' : ''}`);
  if (spec.notes) lines.push('', spec.notes);
  return `${lines.join('\n')}\n`;
}

export interface Parsed {
  /** The command path, e.g. ['rule', 'keys', 'renew']. */
  readonly command: readonly string[];
  readonly specs: readonly CommandSpec[];
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

/** Finds the command, then parses its options strictly. Throws UsageError. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const specs: CommandSpec[] = [COMMANDS];
  let i = 0;
  let spec = COMMANDS;
  while (spec.sub && i < argv.length && !argv[i]!.startsWith('-')) {
    const word = argv[i]!;
    const next = spec.sub.find((s) => s.name === word);
    if (!next) {
      const where = specs.map((s) => s.name).join(' ');
      throw new UsageError(where, `unknown command '${word}' (commands: ${spec.sub.map((s) => s.name).join(', ')})`);
    }
    specs.push(next);
    spec = next;
    i += 1;
  }
  const where = specs.map((s) => s.name).join(' ');
  const options = { ...(spec.options ?? {}), help: HELP };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(i) as string[],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(Object.entries(options).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }])),
    }) as typeof parsed;
  } catch (err) {
    const e = err as { code?: string; message: string };
    const unknown = /Unknown option '([^']+)'/.exec(e.message);
    if (unknown) throw new UsageError(where, `unknown option ${unknown[1]} (this command takes: ${Object.keys(options).map((n) => `--${n}`).join(', ')})`);
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(where, `${e.message.split('. ')[0]}`);
    throw err;
  }
  const help = parsed.values.help === true;
  const command = specs.slice(1).map((s) => s.name);
  if (!help && spec.sub && !(spec === COMMANDS && parsed.values.version)) {
    throw new UsageError(where, `expected a command (${spec.sub.map((s) => s.name).join(', ')})`);
  }
  if (!help && !spec.sub) {
    const max = spec.args?.length ?? 0;
    const min = max - (spec.optionalArgs ?? 0);
    if (parsed.positionals.length < min) throw new UsageError(where, `missing ${spec.args!.slice(parsed.positionals.length, min).join(' ')}`);
    if (parsed.positionals.length > max) throw new UsageError(where, `unexpected argument '${parsed.positionals[max]}'`);
  }
  return { command, specs, values: parsed.values, positionals: parsed.positionals, help };
}

/** A non-negative integer option, or a usage error naming it. */
export function intOption(parsed: Parsed, name: string): number | undefined {
  const v = parsed.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
    throw new UsageError(parsed.command.join(' '), `--${name}: expected a non-negative integer, got "${String(v)}"`);
  }
  return n;
}
