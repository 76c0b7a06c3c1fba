/** `relaybridge agent --config agent.yaml`: dials out to the relay for each configured service. */
import fs from 'node:fs';
import { createAgent, type Agent } from '../../agent/agent';
import { ConfigError } from '../../core/errors';
import { createCliLogger } from '../logger';
import { agentFileSchema, envOverrides, parseSection, readConfigFile, resolveFrom } from '../config-file';

export interface AgentCommandInput {
  config?: string;
  logLevel?: string;
  /** `--health-port`: serve /$health on this local port (host from the config, else 127.0.0.1). */
  healthPort?: number;
  env: NodeJS.ProcessEnv;
}

export function startAgentFromConfig(input: AgentCommandInput): Agent {
  const file = input.config ? readConfigFile(input.config) : {};
  const merged = { ...file, ...envOverrides(input.env, { relayUrl: 'string', keyName: 'string', key: 'string', token: 'string' }) };
  const { tls, log, ...agentOptions } = parseSection(agentFileSchema, merged, 'agent config');
  if (input.healthPort !== undefined) {
    const fileHealth = agentOptions.health && typeof agentOptions.health === 'object' ? (agentOptions.health as Record<string, unknown>) : {};
    agentOptions.health = { ...fileHealth, port: input.healthPort };
  }
  const logger = createCliLogger(input.logLevel ?? input.env.RELAYBRIDGE_LOG_LEVEL ?? log?.level ?? 'info');
  let ca: string | undefined;
  if (tls?.caFile) {
    try {
      ca = fs.readFileSync(resolveFrom(input.config, tls.caFile), 'utf8');
    } catch (err) {
      throw new ConfigError('invalid agent config', [`tls.caFile: ${(err as Error).message}`]);
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
  const agent = createAgent({
    ...(agentOptions as Parameters<typeof createAgent>[0]),
    services: services as Parameters<typeof createAgent>[0]['services'],
    tls: tls ? { ca, rejectUnauthorized: tls.rejectUnauthorized ?? true } : undefined,
    logger,
  });
  agent.on('state', (e) => {
    if (e.to === 'READY') logger.info({ path: e.path, listenerId: e.listenerId }, 'agent channel ready');
  });
  // The agent retries the relay forever; only a local port it cannot open ends it (exit 1).
  agent.start();
  return agent;
}
