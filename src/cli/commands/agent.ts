/**
 * `relaybridge agent [--config agent.yaml] [--relay URL] [--connection-string CS | --key-name N --key K | --token T]
 *   [--expose PATH=URL]... [--ca FILE]`: dials out to the relay for each exposed service.
 * Layering: config file < environment < flags; a credential is taken whole from the highest
 * layer that names one (credentials.ts), and `--expose` replaces the file's services.
 */
import fs from 'node:fs';
import { version } from '../version';
import { createAgent, type Agent } from '../../agent/agent';
import { ConfigError } from '../../core/errors';
import { createCliLogger, resolveLogFormat } from '../logger';
import { agentFileSchema, parseSection, readConfigFile, resolveFrom } from '../config-file';
import { envCredentials, resolveCredentials } from '../credentials';
import { relayProxy } from '../proxy';
import { UsageError } from '../spec';

export interface AgentCommandInput {
  config?: string;
  logLevel?: string;
  /** json or pretty (--log-format). */
  logFormat?: string;
  /** `--health-port`: serve /$health on this local port (host from the config, else 127.0.0.1). */
  healthPort?: number;
  /** `--relay`, `--connection-string`, `--key-name`/`--key`, `--token`: win over file and env. */
  relay?: string;
  connectionString?: string;
  keyName?: string;
  key?: string;
  token?: string;
  /** `--expose PATH=URL` (repeatable): the services, replacing the file's. */
  expose?: string[];
  /** `--ca FILE`: a PEM CA for the relay's certificate. */
  caFile?: string;
  /** `--proxy URL`: an HTTP proxy to the relay (else the file's `proxy:`, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY). */
  proxy?: string;
  env: NodeJS.ProcessEnv;
}

/**
 * `PATH=URL` → a service. http(s):// → http target, net.tcp:// → nettcp, tcp://host:port → tcp,
 * ws(s):// → ws. Without `PATH=`, the path is the connection string's EntityPath.
 */
export function exposeToService(spec: string, defaultPath?: string): { path: string; target: Record<string, unknown> } {
  const m = /^([^=]+?)=(.+)$/.exec(spec);
  const looksLikeUrl = /^[a-z][a-z0-9.+-]*:\/\//i.test(spec);
  const path = (m && !looksLikeUrl ? m[1]! : defaultPath)?.replace(/^\/+|\/+$/g, '');
  const url = m && !looksLikeUrl ? m[2]! : spec;
  if (!path) throw new UsageError('relaybridge agent', `--expose ${spec}: expected PATH=URL (or a connection string with EntityPath)`);
  const scheme = /^([a-z][a-z0-9.+-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https':
      return { path, target: { type: 'http', url } };
    case 'net.tcp':
      return { path, target: { type: 'nettcp', url } };
    case 'ws':
    case 'wss':
      return { path, target: { type: 'ws', url } };
    case 'tcp': {
      const u = new URL(url.replace(/^tcp:/i, 'http:'));
      if (!u.port) throw new UsageError('relaybridge agent', `--expose ${spec}: tcp:// needs a port`);
      return { path, target: { type: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) } };
    }
    default:
      throw new UsageError('relaybridge agent', `--expose ${spec}: expected an http(s)://, net.tcp://, tcp:// or ws(s):// URL`);
  }
}

export function startAgentFromConfig(input: AgentCommandInput): Agent {
  const file = input.config ? readConfigFile(input.config) : {};
  const { tls, log, relayUrl: fileRelay, connectionString: fileCs, keyName: fileKeyName, key: fileKey, token: fileToken, ...agentOptions } = parseSection(agentFileSchema, file, 'agent config') as Record<string, unknown> & {
    tls?: { caFile?: string; rejectUnauthorized?: boolean };
    log?: { level?: string; format?: string };
  };
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? undefined : String(v));
  const creds = resolveCredentials([
    { source: 'config file', relayUrl: str(fileRelay), connectionString: str(fileCs), keyName: str(fileKeyName), key: str(fileKey), token: str(fileToken) },
    envCredentials(input.env),
    { source: 'flags', relayUrl: input.relay, connectionString: input.connectionString, keyName: input.keyName, key: input.key, token: input.token },
  ]);
  if (input.healthPort !== undefined) {
    const fileHealth = agentOptions.health && typeof agentOptions.health === 'object' ? (agentOptions.health as Record<string, unknown>) : {};
    agentOptions.health = { ...fileHealth, port: input.healthPort };
  }
  if (input.expose?.length) agentOptions.services = input.expose.map((e) => exposeToService(e, creds.connection?.entityPath));
  if (!agentOptions.services) throw new UsageError('relaybridge agent', 'nothing to serve: give --expose PATH=URL or a --config file with services');
  const logger = createCliLogger(input.logLevel ?? input.env.RELAYBRIDGE_LOG_LEVEL ?? log?.level ?? 'info', resolveLogFormat(input.logFormat ?? input.env.RELAYBRIDGE_LOG_FORMAT ?? log?.format));
  let ca: string | undefined;
  const caFile = input.caFile ?? (tls?.caFile ? resolveFrom(input.config, tls.caFile) : undefined);
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new ConfigError('invalid agent config', [`${input.caFile ? '--ca' : 'tls.caFile'}: ${(err as Error).message}`]);
    }
  }
  // Files named in service targets are relative to the config file.
  const services = Array.isArray(agentOptions.services)
    ? (agentOptions.services as Array<{ target?: Record<string, unknown> }>).map((svc) => {
        const t = svc?.target;
        if (!t || typeof t !== 'object') return svc;
        const target = { ...t };
        for (const key of ['module', 'wsdl', 'socketPath'] as const) {
          if (typeof target[key] === 'string' && (t.type === 'module' || t.type === 'ipc' || (t.type === 'http' && key === 'wsdl'))) {
            target[key] = resolveFrom(input.config, target[key] as string);
          }
        }
        return { ...svc, target };
      })
    : agentOptions.services;
  const { connection: _cs, ...credOptions } = creds;
  void _cs;
  const proxy = creds.relayUrl ? relayProxy(creds.relayUrl, input.proxy, agentOptions.proxy) : undefined;
  const agent = createAgent({
    version: version(),
    ...(agentOptions as Parameters<typeof createAgent>[0]),
    ...(proxy ? { proxy } : {}),
    ...credOptions,
    services: services as Parameters<typeof createAgent>[0]['services'],
    tls: tls || ca ? { ca, rejectUnauthorized: tls?.rejectUnauthorized ?? true } : undefined,
    logger,
  });
  agent.on('state', (e) => {
    if (e.to === 'READY') logger.info({ path: e.path, listenerId: e.listenerId }, 'agent channel ready');
  });
  // The agent retries the relay forever; only a local port it cannot open ends it (exit 1).
  agent.start();
  return agent;
}
