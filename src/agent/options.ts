/**
 * Agent options: one schema, defaults in one place, unknown keys rejected, every bad key named,
 * result deep-frozen.
 */
import { CONTROL_BODY_OFFER_BYTES } from '../protocol/hyco';
import { z } from 'zod';
import { parseConnectionString } from '../auth/connection-string';
import type { TokenProvider } from '../auth/token-provider';
import { systemClock, type Clock } from '../core/clock';
import { ConfigError } from '../core/errors';
import { noopLogger, type Logger } from '../core/logger';
import { deepFreeze, formatIssues, renamedOptionHints, type SchemaIssue } from '../core/options-util';

/**
 * SOAP version of the local service: 'auto' reads it from the service's WSDL (soap/soap12 binding)
 * and translates only when the client's version is not offered; '1.1'/'1.2' declare it.
 */
const soapVersionOption = z.enum(['auto', '1.1', '1.2']);
/** Largest SOAP message the agent buffers to inspect or translate, bytes. */
const MAX_SOAP_MESSAGE_BYTES = 16 * 1024 * 1024;

const httpTarget = z.strictObject({
  type: z.literal('http'),
  /** Base URL of the local service; the part of the request path after the entity path is appended. */
  url: z.string().url(),
  /** Local call timeout, ms. */
  timeoutMs: z.number().int().min(100).default(60_000),
  /** PEM CA for an https target with a private certificate. */
  ca: z.string().optional(),
  rejectUnauthorized: z.boolean().default(true),
  /** The service's SOAP version ('auto': from its WSDL). Non-SOAP requests always pass through. */
  soapVersion: soapVersionOption.default('auto'),
  /** Rewrite wsa:To to the service's address (WCF services check To). */
  rewriteTo: z.boolean().default(true),
  /** The address to put in wsa:To; default: the local URL the call goes to. */
  address: z.string().url().optional(),
  /** Where to read the WSDL for soapVersion 'auto'; default `{url}?wsdl`. */
  wsdlUrl: z.string().url().optional(),
  /** A WSDL file (e.g. from wsdl/) served for `?wsdl` instead of the service's own. */
  wsdl: z.string().min(1).optional(),
  maxMessageBytes: z.number().int().min(1024).default(MAX_SOAP_MESSAGE_BYTES),
});
/** A Node module implementing a WSDL with the `soap` package, run inside the agent. */
const moduleTarget = z.strictObject({
  type: z.literal('module'),
  /** Path of the module (resolved against the working directory, or the config file's folder by the CLI). */
  module: z.string().min(1),
  /** The WSDL file it implements; default: the module's exported `wsdl`. */
  wsdl: z.string().min(1).optional(),
  /** The WSDL's SOAP version ('auto': read from the WSDL). */
  soapVersion: soapVersionOption.default('auto'),
  /** Put the messages of errors the module throws in faults (WCF's IncludeExceptionDetailInFaults). */
  includeExceptionDetail: z.boolean().default(false),
  /** Time allowed per call, ms. */
  timeoutMs: z.number().int().min(100).default(30_000),
  maxMessageBytes: z.number().int().min(1024).default(MAX_SOAP_MESSAGE_BYTES),
});
/** Local Node processes that register SOAP operations with the agent over net-ipc. */
const ipcTarget = z.strictObject({
  type: z.literal('ipc'),
  /** Unix socket path (a named pipe name on Windows) the agent listens on; shared by services. */
  socketPath: z.string().min(1),
  /** Time allowed per call, ms. */
  timeoutMs: z.number().int().min(100).default(30_000),
  maxMessageBytes: z.number().int().min(1024).default(MAX_SOAP_MESSAGE_BYTES),
});
const tcpTarget = z.strictObject({
  type: z.literal('tcp'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
});
/** A local WCF service over net.tcp (NetTcpBinding, security None). */
const netTcpTarget = z.strictObject({
  type: z.literal('nettcp'),
  /** net.tcp://host:port/path of the service (the Via of each session). */
  url: z.string().regex(/^net\.tcp:\/\/[^/]+(\/.*)?$/i, 'expected a net.tcp://host:port/path URL'),
  /** wsa:To for the service; default `url`. */
  address: z.string().min(1).optional(),
  /** Time allowed per call, ms. */
  timeoutMs: z.number().int().min(100).default(60_000),
  /** Most pooled sessions (TCP connections) to the service at once, with shareSessions. */
  maxSessions: z.number().int().min(1).max(1024).default(8),
  /**
   * Calls from sessionless callers (SOAP over HTTP, Hybrid Connections senders) may share pooled
   * service sessions. Only for a PerCall or Single service: with WCF's default PerSession
   * instancing, a shared session shares the service's state between callers. Default false: a
   * service session per call (opened, used once, ended).
   */
  shareSessions: z.boolean().default(false),
  /**
   * Most relayed net.tcp client sessions held at once on this path, each with a service session of
   * its own; past it a new client session gets ServerTooBusy. Default 100.
   */
  maxClientSessions: z.number().int().min(1).max(100_000).default(100),
  /**
   * How relayed net.tcp clients' messages travel between relay and agent: `binary` (binary XML
   * both ways: a carried session's envelopes passed through, and calls relayed one per envelope
   * as application/soap+msbin1; the relay offers or takes it) or `text` (SOAP 1.2 XML).
   * Default binary; text costs more CPU per call (bench:nettcp) and suits debugging.
   */
  carrier: z.enum(['binary', 'text']).default('binary'),
  /** Largest message either way, bytes. */
  maxMessageBytes: z.number().int().min(1024).default(MAX_SOAP_MESSAGE_BYTES),
  /** Session dictionary quota for what the agent writes, bytes (the service's MaxSessionSize, WCF default 2048). */
  maxSessionBytes: z.number().int().min(0).max(1024 * 1024).default(2048),
  /**
   * Actions of one-way operations: answered 202 once sent. Needed for SOAP 1.1 (basicHttp) callers,
   * and for clients that send MessageID on one-way calls (Mono) when repliesInOrder is off.
   */
  oneWayActions: z.array(z.string().min(1)).max(1024).default([]),
  /**
   * The service answers each session's calls in order (WCF default: PerSession, ConcurrencyMode.Single):
   * a reply to a later call then settles earlier waiting calls as one-way. Default true.
   */
  repliesInOrder: z.boolean().default(true),
  /** Where `?wsdl`, `?wsdl=…`, `?xsd=…` are fetched (the service's HTTP metadata address), e.g. http://host:port/calc?wsdl. */
  wsdlUrl: z.string().url().optional(),
  /** A WSDL file served for `?wsdl`/`?singleWsdl` (when the service has no HTTP metadata). */
  wsdl: z.string().min(1).optional(),
});
const wsTarget = z.strictObject({
  type: z.literal('ws'),
  url: z.string().regex(/^wss?:\/\//i, 'expected a ws:// or wss:// URL'),
});

const serviceSchema = z.strictObject({
  /** Hybrid connection path to listen on. */
  path: z.string().min(1).max(260),
  /** Listener id sent as sb-hc-id (for pinning); generated when unset. */
  listenerId: z.string().min(1).max(128).optional(),
  /** Number of control channels to open for this path (load spreading, failover). */
  connections: z.number().int().min(1).max(25).default(1),
  target: z.discriminatedUnion('type', [httpTarget, moduleTarget, ipcTarget, netTcpTarget, tcpTarget, wsTarget]),
});

const agentLimits = z.strictObject({
  /** Largest control-channel message accepted from the relay, bytes. */
  maxControlMessageBytes: z.number().int().min(70_000).default(1024 * 1024),
  /** Response bodies up to this size go back on the control channel; larger ones use rendezvous. */
  controlBodyThresholdBytes: z.number().int().min(0).max(64 * 1024).default(64 * 1024),
  /**
   * Bodies up to this size may travel on the control channel when the relay is a relaybridge
   * relay that accepts the offer (protocol/hyco/control-body.ts), bytes; 0: never offer. At
   * most maxControlMessageBytes. Default 1 MiB.
   */
  offerControlBodyBytes: z.union([z.literal(0), z.number().int().min(CONTROL_BODY_OFFER_BYTES.min).max(CONTROL_BODY_OFFER_BYTES.max)]).default(1024 * 1024),
  /** Largest frame payload on rendezvous sockets, bytes. */
  maxFramePayloadBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
});

export const agentOptionsSchema = z.strictObject({
  /** The relay's base URL: http(s):// or ws(s)://host:port. */
  relayUrl: z.string().regex(/^(https?|wss?):\/\/[^/]+\/?$/i, 'expected scheme://host[:port] (http, https, ws or wss)'),
  /**
   * More relay nodes of the same namespace (several nodes on NATS): after a failed or lost
   * connection each listener tries the next node in turn (relayUrl first), so it re-homes when a
   * node goes away.
   */
  relayUrls: z
    .array(z.string().regex(/^(https?|wss?):\/\/[^/]+\/?$/i, 'expected scheme://host[:port] (http, https, ws or wss)'))
    .max(16)
    .optional(),
  /** SAS rule name and key used to mint tokens (or pass `tokenProvider` programmatically, or `token`). */
  keyName: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** A fixed SAS token (no renewal beyond its expiry). */
  token: z.string().min(1).optional(),
  /** Lifetime of minted tokens, seconds. */
  tokenTtlSeconds: z.number().int().min(60).default(3600),
  /** Renew this long before expiry, seconds. */
  renewBeforeSeconds: z.number().int().min(1).default(300),
  services: z.array(serviceSchema).min(1),
  /**
   * Reconnecting: capped exponential backoff with jitter, forever (until stop()). Delays start at
   * initialMs (500), grow by multiplier (1.6) up to maxMs (30 s) after network failures and a
   * lost channel, and up to authMaxMs (5 min) after the relay refused the credential (401/403),
   * each ± jitter (0.2). Reset once a channel is READY.
   */
  reconnect: z
    .strictObject({
      initialMs: z.number().int().min(1).default(500),
      maxMs: z.number().int().min(1).default(30_000),
      multiplier: z.number().min(1).default(1.6),
      jitter: z.number().min(0).max(1).default(0.2),
      authMaxMs: z.number().int().min(1).default(300_000),
    })
    .default({ initialMs: 500, maxMs: 30_000, multiplier: 1.6, jitter: 0.2, authMaxMs: 300_000 }),
  /**
   * A local health endpoint (`GET /$health`, JSON per path and listener; 200 when every channel is
   * READY, else 503). Off unless set. host defaults to 127.0.0.1; port 0 picks a free port.
   */
  health: z
    .strictObject({
      port: z.number().int().min(0).max(65535),
      host: z.string().min(1).default('127.0.0.1'),
    })
    .optional(),
  /**
   * This agent's name on the relay's status page (its listeners' User-Agent:
   * relaybridge-agent/VERSION (NAME)). Default: the machine's host name.
   */
  name: z.string().min(1).max(100).optional(),
  /** The version in that User-Agent (the CLI gives the package's). */
  version: z.string().min(1).max(40).default('lib'),
  /** On stop(), calls in flight get this long to finish before the channels close, ms. Default 5000. */
  stopDrainMs: z.number().int().min(0).max(600_000).default(5000),
  heartbeat: z
    .strictObject({ intervalMs: z.number().int().min(50).default(30_000) })
    .default({ intervalMs: 30_000 }),
  /**
   * An HTTP proxy to reach the relay through (http://[user:password@]host:port): CONNECT for the
   * control channels and every rendezvous, TLS to the relay through the tunnel. The CLI takes
   * HTTPS_PROXY/HTTP_PROXY/NO_PROXY when this is not set.
   */
  proxy: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'expected an http:// or https:// proxy URL')
    .optional(),
  /** TLS to the relay: a PEM CA for a self-signed relay certificate. */
  tls: z.strictObject({ ca: z.string().optional(), rejectUnauthorized: z.boolean().default(true) }).optional(),
  /** Sizes the agent accepts and offers (as the relay's `limits`). */
  limits: agentLimits.default(agentLimits.parse({})),
});

export type ServiceTarget = z.output<typeof serviceSchema>['target'];
export type HttpTargetConfig = z.output<typeof httpTarget>;
export type ModuleTargetConfig = z.output<typeof moduleTarget>;
export type IpcTargetConfig = z.output<typeof ipcTarget>;
export type NetTcpTargetConfig = z.output<typeof netTcpTarget>;

export type AgentOptionsInput = Omit<z.input<typeof agentOptionsSchema>, 'relayUrl'> & {
  /** The relay's base URL; optional when `connectionString` is given (its Endpoint is used then). */
  relayUrl?: string;
  /**
   * An Azure-style connection string (`Endpoint=sb://host[:port]/;SharedAccessKeyName=…;SharedAccessKey=…`,
   * see auth/connection-string.ts) in place of keyName/key (or token). Its Endpoint gives the relay
   * URL when relayUrl is not set; an explicit relayUrl wins.
   */
  connectionString?: string;
  tokenProvider?: TokenProvider;
  logger?: Logger;
  clock?: Clock;
  random?: () => number;
};

export type AgentConfig = Readonly<z.output<typeof agentOptionsSchema>> & {
  readonly tokenProvider?: TokenProvider;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
};

export function buildAgentConfig(input: AgentOptionsInput): AgentConfig {
  const { tokenProvider, logger, clock, random, connectionString, ...rest } = input;
  const plain: Record<string, unknown> = { ...rest };
  if (connectionString !== undefined) {
    const given = (['keyName', 'key', 'token'] as const).filter((k) => rest[k] !== undefined);
    if (given.length) throw new ConfigError('invalid agent options', [`connectionString: give it or ${given.join('/')}, not both`]);
    const cs = parseConnectionString(connectionString);
    if (plain.relayUrl === undefined) plain.relayUrl = cs.relayUrl;
    if (cs.keyName) Object.assign(plain, { keyName: cs.keyName, key: cs.key });
    else plain.token = cs.sharedAccessSignature;
  }
  const hints = renamedOptionHints(plain, {
    relay: 'relayUrl',
    paths: 'services',
    sasKeyName: 'keyName',
    sasKey: 'key',
    maxControlMessageBytes: 'limits.maxControlMessageBytes',
    controlBodyThresholdBytes: 'limits.controlBodyThresholdBytes',
    offerControlBodyBytes: 'limits.offerControlBodyBytes',
    maxFramePayloadBytes: 'limits.maxFramePayloadBytes',
  });
  if (hints.length) throw new ConfigError('invalid agent options', hints);
  const parsed = agentOptionsSchema.safeParse(plain);
  if (!parsed.success) throw new ConfigError('invalid agent options', formatIssues(parsed.error.issues as unknown as SchemaIssue[]));
  const o = parsed.data;
  if (!tokenProvider && !o.token && !(o.keyName && o.key)) {
    throw new ConfigError('invalid agent options', ['keyName/key: a SAS rule name and key (or token) are required']);
  }
  if ((o.keyName && !o.key) || (!o.keyName && o.key)) {
    throw new ConfigError('invalid agent options', [`${o.keyName ? 'key' : 'keyName'}: keyName and key go together`]);
  }
  if (o.limits.offerControlBodyBytes > o.limits.maxControlMessageBytes) {
    throw new ConfigError('invalid agent options', ['limits.offerControlBodyBytes: must not exceed limits.maxControlMessageBytes']);
  }
  if (o.reconnect.maxMs < o.reconnect.initialMs || o.reconnect.authMaxMs < o.reconnect.initialMs) {
    throw new ConfigError('invalid agent options', ['reconnect: maxMs and authMaxMs must be at least initialMs']);
  }
  if (o.renewBeforeSeconds >= o.tokenTtlSeconds) {
    throw new ConfigError('invalid agent options', ['renewBeforeSeconds: must be less than tokenTtlSeconds']);
  }
  return deepFreeze({ ...o, tokenProvider, logger: logger ?? noopLogger, clock: clock ?? systemClock, random: random ?? Math.random }) as AgentConfig;
}
