/**
 * Config files (YAML or JSON) for `relay` and `agent`. Layering: defaults < file < env < flags.
 * File-only keys (tls files, store, log) are validated here; everything else goes to the
 * relay/agent factory, which validates it once and names every bad key.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors';
import { formatIssues, type SchemaIssue } from '../core/options-util';

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold a mapping at the top level`);
  return data as Record<string, unknown>;
}

export const logSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** json, or pretty (one readable line per entry); default pretty on a terminal, JSON otherwise. */
  format: z.enum(['json', 'pretty']).optional(),
});

export const relayFileSchema = z.looseObject({
  tls: z
    .strictObject({
      certFile: z.string().optional(),
      keyFile: z.string().optional(),
      /** Generate (once) and use a self-signed certificate for local use. */
      selfSigned: z.boolean().optional(),
      hostnames: z.array(z.string()).optional(),
    })
    .refine((t) => t.selfSigned || (t.certFile && t.keyFile), { message: 'give certFile and keyFile, or selfSigned: true' })
    .optional(),
  store: z
    .union([
      z.strictObject({
        type: z.enum(['file', 'memory']).default('file'),
        path: z.string().default('./.relaybridge/relay-store.json'),
      }),
      /** Several relay nodes as one namespace: NATS JetStream KV (src/store/nats-store.ts). */
      z.strictObject({
        type: z.literal('nats'),
        servers: z.array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/i, 'expected nats://host:port or tls://host:port')).min(1),
        bucket: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only').default('relaybridge'),
        /** Bucket replicas when this node creates it (3 on a NATS cluster of three). */
        replicas: z.number().int().min(1).max(5).default(1),
        user: z.string().optional(),
        pass: z.string().optional(),
        token: z.string().optional(),
        tls: z.strictObject({ caFile: z.string().optional(), certFile: z.string().optional(), keyFile: z.string().optional() }).optional(),
        /** How long a dead node's listener records linger, ms. */
        listenerTtlMs: z.number().int().min(3000).max(600_000).default(30_000),
      }),
    ])
    .optional(),
  log: logSchema.optional(),
});

export const agentFileSchema = z.looseObject({
  tls: z.strictObject({ caFile: z.string().optional(), rejectUnauthorized: z.boolean().optional() }).optional(),
  log: logSchema.optional(),
});

export function parseSection<T extends z.ZodTypeAny>(schema: T, data: unknown, what: string): z.output<T> {
  const r = schema.safeParse(data);
  if (!r.success) throw new ConfigError(`invalid ${what}`, formatIssues(r.error.issues as unknown as SchemaIssue[]));
  return r.data;
}

export function resolveFrom(baseFile: string | undefined, p: string): string {
  return path.isAbsolute(p) || !baseFile ? path.resolve(p) : path.resolve(path.dirname(baseFile), p);
}

/** Environment overrides: RELAYBRIDGE_<NAME> for a fixed set of top-level keys. */
export function envOverrides(env: NodeJS.ProcessEnv, keys: Record<string, 'string' | 'number'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(keys)) {
    const name = `RELAYBRIDGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (type === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ConfigError('invalid environment', [`${name}: expected a number, got "${v}"`]);
      out[key] = n;
    } else out[key] = v;
  }
  return out;
}
