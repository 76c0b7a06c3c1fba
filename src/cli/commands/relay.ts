/** `relaybridge relay --config relay.yaml`: runs a relay with a file-backed store. */
import fs from 'node:fs';
import path from 'node:path';
import { createRelayServer, type RelayServer } from '../../relay/relay-server';
import type { z } from 'zod';
import { MemoryStore } from '../../store/memory-store';
import type { Store } from '../../store/store';
import { ConfigError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { createCliLogger, resolveLogFormat } from '../logger';
import { envOverrides, parseSection, readConfigFile, relayFileSchema, resolveFrom } from '../config-file';
import { ensureSelfSignedCertificate } from '../tls';

export interface RelayCommandInput {
  config?: string;
  port?: number;
  host?: string;
  logLevel?: string;
  /** json or pretty (--log-format). */
  logFormat?: string;
  env: NodeJS.ProcessEnv;
}

type StoreConfig = NonNullable<z.output<typeof relayFileSchema>['store']>;

/** The store a config names: the file store (default), memory only, or NATS (several nodes). */
export async function storeFromConfig(configFile: string | undefined, cfg: StoreConfig | undefined, nodeId?: string, log?: Logger): Promise<Store> {
  if (cfg?.type === 'nats') {
    const read = (field: string, file: string | undefined): string | undefined => {
      if (file === undefined) return undefined;
      try {
        return fs.readFileSync(resolveFrom(configFile, file), 'utf8');
      } catch (err) {
        throw new ConfigError('invalid relay config', [`store.tls.${field}: ${(err as Error).message}`]);
      }
    };
    // Loaded only when configured: a single node never loads the NATS client.
    const { NatsStore } = await import('../../store/nats-store');
    return new NatsStore({
      servers: cfg.servers,
      bucket: cfg.bucket,
      replicas: cfg.replicas,
      user: cfg.user,
      pass: cfg.pass,
      token: cfg.token,
      tls: cfg.tls ? { ca: read('caFile', cfg.tls.caFile), cert: read('certFile', cfg.tls.certFile), key: read('keyFile', cfg.tls.keyFile) } : undefined,
      listenerTtlMs: cfg.listenerTtlMs,
      name: nodeId ? `relaybridge ${nodeId}` : 'relaybridge',
      log,
    });
  }
  if (cfg?.type === 'memory') return new MemoryStore();
  return new MemoryStore({ file: resolveFrom(configFile, cfg?.path ?? './.relaybridge/relay-store.json') });
}

export async function startRelayFromConfig(input: RelayCommandInput): Promise<RelayServer> {
  const file = input.config ? readConfigFile(input.config) : {};
  const merged: Record<string, unknown> = {
    ...file,
    ...envOverrides(input.env, { port: 'number', host: 'string', publicUrl: 'string', nodeId: 'string' }),
  };
  if (input.port !== undefined) merged.port = input.port;
  if (input.host !== undefined) merged.host = input.host;
  const { tls, store: storeCfg, log, ...relayOptions } = parseSection(relayFileSchema, merged, 'relay config');
  const level = input.logLevel ?? input.env.RELAYBRIDGE_LOG_LEVEL ?? log?.level ?? 'info';
  const logger = createCliLogger(level, resolveLogFormat(input.logFormat ?? input.env.RELAYBRIDGE_LOG_FORMAT ?? log?.format));

  const stateDir = path.dirname(resolveFrom(input.config, storeCfg?.type !== 'nats' ? (storeCfg?.path ?? './.relaybridge/relay-store.json') : './.relaybridge/relay-store.json'));
  let tlsPem: { cert: string; key: string } | undefined;
  if (tls?.selfSigned) {
    const dir = stateDir;
    tlsPem = await ensureSelfSignedCertificate(dir, tls.hostnames ?? ['localhost', '127.0.0.1']);
    logger.info({ cert: path.join(dir, 'relay-cert.pem') }, 'using a self-signed certificate (clients: NODE_EXTRA_CA_CERTS or tls.caFile)');
  } else if (tls) {
    try {
      tlsPem = {
        cert: fs.readFileSync(resolveFrom(input.config, tls.certFile!), 'utf8'),
        key: fs.readFileSync(resolveFrom(input.config, tls.keyFile!), 'utf8'),
      };
    } catch (err) {
      throw new ConfigError('invalid relay config', [`tls: ${(err as Error).message}`]);
    }
  }
  const store = await storeFromConfig(input.config, storeCfg, (relayOptions as { nodeId?: string }).nodeId, logger.child({ component: 'store' }));
  const relay = createRelayServer({ ...(relayOptions as object), tls: tlsPem, store, logger });
  await relay.listen();
  return relay;
}
