/**
 * `relaybridge forward --listen [HOST:]PORT --path PATH [--http] [--config FILE] [credentials]`:
 * local ports whose connections reach a `tcp` (or, with --http, an `http`) target behind an
 * agent through the relay (src/forwarder). Several forwards from a config file:
 *
 *   relayUrl: https://relay.example.com:9443
 *   connectionString: "Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…"
 *   forwards:
 *     - { listen: 127.0.0.1:15432, path: reports-db }
 *     - { listen: 127.0.0.1:8080, path: credit-check, type: http }
 *
 * Layering as for the agent: config file < environment < flags.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { sasTokenProvider, staticTokenProvider } from '../../auth/token-provider';
import { systemClock } from '../../core/clock';
import { ConfigError } from '../../core/errors';
import { Forwarder, type BoundForward, type ForwardSpec } from '../../forwarder/forwarder';
import { logSchema, parseSection, readConfigFile, resolveFrom } from '../config-file';
import { envCredentials, resolveCredentials } from '../credentials';
import { createCliLogger, resolveLogFormat } from '../logger';
import { relayProxy } from '../proxy';
import { parseListen } from '../listen';
import { UsageError } from '../spec';

export interface ForwardCommandInput {
  config?: string;
  /** `--listen [HOST:]PORT` (with `--path`): one forward from flags, replacing the file's. */
  listen?: string;
  path?: string;
  /** `--http`: the forward carries HTTP requests (an `http` target) instead of bytes. */
  http?: boolean;
  relay?: string;
  connectionString?: string;
  keyName?: string;
  key?: string;
  token?: string;
  caFile?: string;
  /** `--proxy URL`: an HTTP proxy to the relay (else the file's `proxy:`, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY). */
  proxy?: string;
  logLevel?: string;
  logFormat?: string;
  env: NodeJS.ProcessEnv;
}

const forwardSchema = z.strictObject({
  /** [HOST:]PORT; the host defaults to 127.0.0.1 (never every interface unless asked). */
  listen: z.union([z.string().min(1), z.number().int().min(0).max(65535)]),
  path: z.string().min(1),
  type: z.enum(['tcp', 'http']).default('tcp'),
});

const forwardFileSchema = z.strictObject({
  relayUrl: z.string().optional(),
  connectionString: z.string().optional(),
  keyName: z.string().optional(),
  key: z.string().optional(),
  token: z.string().optional(),
  tls: z.strictObject({ caFile: z.string().optional(), rejectUnauthorized: z.boolean().optional() }).optional(),
  /** An HTTP proxy to the relay: http://[user:password@]host:port. */
  proxy: z.string().url().optional(),
  forwards: z.array(forwardSchema).min(1).max(256).optional(),
  log: logSchema.optional(),
});


export async function startForwarder(input: ForwardCommandInput): Promise<{ forwarder: Forwarder; bound: BoundForward[] }> {
  const file = parseSection(forwardFileSchema, input.config ? readConfigFile(input.config) : {}, 'forward config');
  const creds = resolveCredentials([
    { source: 'config file', relayUrl: file.relayUrl, connectionString: file.connectionString, keyName: file.keyName, key: file.key, token: file.token },
    envCredentials(input.env),
    { source: 'flags', relayUrl: input.relay, connectionString: input.connectionString, keyName: input.keyName, key: input.key, token: input.token },
  ]);
  if (!creds.relayUrl) throw new UsageError('relaybridge forward', 'no relay: give --relay URL or a connection string');
  if (!creds.token && !(creds.keyName && creds.key)) throw new UsageError('relaybridge forward', 'no credential: give --connection-string, --key-name and --key, or --token');
  if ((input.listen === undefined) !== (input.path === undefined)) throw new UsageError('relaybridge forward', '--listen and --path go together');
  let forwards: ForwardSpec[];
  if (input.listen !== undefined) {
    forwards = [{ ...parseListen(input.listen, '--listen'), path: input.path!.replace(/^\/+|\/+$/g, ''), type: input.http ? 'http' : 'tcp' }];
  } else if (file.forwards) {
    forwards = file.forwards.map((f, i) => ({ ...parseListen(f.listen, `forwards[${i}].listen`), path: f.path.replace(/^\/+|\/+$/g, ''), type: f.type }));
  } else throw new UsageError('relaybridge forward', 'nothing to forward: give --listen PORT --path PATH or a --config file with forwards');
  if (input.http && input.listen === undefined) throw new UsageError('relaybridge forward', '--http goes with --listen and --path');

  let ca: string | undefined;
  const caFile = input.caFile ?? (file.tls?.caFile ? resolveFrom(input.config, file.tls.caFile) : undefined);
  if (caFile) {
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new ConfigError('invalid forward config', [`${input.caFile ? '--ca' : 'tls.caFile'}: ${(err as Error).message}`]);
    }
  }
  const logger = createCliLogger(input.logLevel ?? input.env.RELAYBRIDGE_LOG_LEVEL ?? file.log?.level ?? 'info', resolveLogFormat(input.logFormat ?? input.env.RELAYBRIDGE_LOG_FORMAT ?? file.log?.format));
  const forwarder = new Forwarder({
    relayUrl: creds.relayUrl,
    tokenProvider: creds.token ? staticTokenProvider(creds.token) : sasTokenProvider(creds.keyName!, creds.key!, systemClock),
    forwards,
    ca,
    rejectUnauthorized: file.tls?.rejectUnauthorized ?? true,
    proxy: relayProxy(creds.relayUrl, input.proxy, file.proxy),
    clock: systemClock,
    logger: logger.child({ component: 'forward' }),
  });
  const bound = await forwarder.start();
  return { forwarder, bound };
}
