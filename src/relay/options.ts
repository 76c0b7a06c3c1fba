/**
 * Relay options: one schema, defaults in one place, unknown keys rejected, every bad key named,
 * result deep-frozen. The CLI merges defaults < file < env < flags into a plain object and
 * passes it here, so programmatic users get the same checks.
 */
import { CONTROL_BODY_OFFER_BYTES } from '../protocol/hyco';
import { z } from 'zod';
import { ConfigError } from '../core/errors';
import { deepFreeze, formatIssues, renamedOptionHints, type SchemaIssue } from '../core/options-util';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import type { Logger } from '../core/logger';
import { noopLogger } from '../core/logger';
import type { Store } from '../store/store';
import { parseProxyEntry } from './guard/client-address';

const right = z.enum(['Listen', 'Send', 'Manage']);
const ruleSchema = z.strictObject({
  keyName: z.string().min(1).max(256),
  primaryKey: z.string().min(1),
  secondaryKey: z.string().min(1).optional(),
  rights: z.array(right).min(1),
  /** Per-operation Send limits: SOAP action URIs, a trailing `*` matches any suffix. */
  operations: z
    .strictObject({
      allow: z.array(z.string().min(1).max(2048)).max(256).optional(),
      deny: z.array(z.string().min(1).max(2048)).max(256).optional(),
    })
    .optional(),
});

const entitySchema = z.strictObject({
  path: z.string().min(1).max(260),
  requiresClientAuthorization: z.boolean().default(true),
  userMetadata: z.string().max(1024).optional(),
  /** Event distribution: each one-way message goes to every listener of the path on every node (answered 202). */
  broadcast: z.boolean().optional(),
  /** The same, spelt as a choice: `broadcast` (every listener) or `one` (one listener per call, the default). */
  distribution: z.enum(['one', 'broadcast']).optional(),
  authorizationRules: z.array(ruleSchema).max(12).default([]),
})
  .superRefine((e, ctx) => {
    if (e.distribution !== undefined && e.broadcast !== undefined && e.broadcast !== (e.distribution === 'broadcast')) {
      ctx.addIssue({ code: 'custom', path: ['distribution'], message: `${e.distribution} contradicts broadcast: ${e.broadcast}; give one` });
    }
  })
  .transform(({ distribution, ...e }) => (distribution === undefined ? e : { ...e, broadcast: distribution === 'broadcast' }));

const limitsObject = z.strictObject({
  /** Concurrent listeners per hybrid connection (Azure: 25). */
  maxListenersPerPath: z.number().int().min(1).max(10_000).default(25),
  /** Largest control-channel WebSocket message from a listener, bytes (64 KiB body + JSON). */
  maxControlMessageBytes: z.number().int().min(70_000).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Largest request/response body sent on the control channel, bytes (protocol: 64 KiB). */
  controlBodyThresholdBytes: z.number().int().min(0).max(64 * 1024 * 1024).default(64 * 1024),
  /**
   * Largest body sent on the control channel of a relaybridge agent that offers larger ones
   * (protocol/hyco/control-body.ts), bytes; 0 turns the extension off. At most
   * maxControlMessageBytes. Default 1 MiB.
   */
  agentControlBodyBytes: z.union([z.literal(0), z.number().int().min(CONTROL_BODY_OFFER_BYTES.min).max(CONTROL_BODY_OFFER_BYTES.max)]).default(1024 * 1024),
  /** Time a listener has to start its response, ms (Azure: 60 s). */
  requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Longest silence inside a request body the relay reads, or a streamed response body, ms (Azure: 60 s). */
  bodyIdleTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  /** Time a listener has to open a rendezvous socket, ms (Azure: ~30 s). */
  rendezvousTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** Largest HTTP request body a sender may send, bytes. Default 256 MiB. */
  maxRequestBodyBytes: z.number().int().min(0).default(256 * 1024 * 1024),
  /** Largest single WebSocket frame payload on rendezvous and sender sockets, bytes. */
  maxFramePayloadBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Requests in flight per listener before new ones get 503. */
  maxPendingRequestsPerListener: z.number().int().min(1).default(10_000),
  /**
   * Time a client has to send its request headers, ms; then 408 and the connection closes
   * (Node's server.headersTimeout; checked every min(headersTimeoutMs / 2, 30 s)). Default 60 s.
   */
  headersTimeoutMs: z.number().int().min(500).max(600_000).default(60_000),
  /** Total size of request headers forwarded, bytes (protocol: 32 KiB on the control channel). */
  maxHeaderBytes: z.number().int().min(1024).default(32 * 1024),
  /**
   * Failed WebSocket handshakes allowed per caller address per second; past it, further failing
   * handshakes from that address get 429 (valid ones, and rendezvous for live calls, never do).
   */
  maxFailedHandshakesPerSecond: z.number().int().min(1).default(20),
  /**
   * Most of a SOAP body read, decoded, before the caller is authorized (entity requires a token
   * and none came in the HTTP headers or query): the RelayAccessToken SOAP header must be in
   * it. Past it the call is refused (RELAY_ERR_SAS_MISSING) and the rest is not read. Default 64 KiB.
   */
  preAuthSoapHeadBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /**
   * Largest decoded/received ratio of a compressed SOAP body before authorization; past it the
   * head read so far is all the relay decodes (a compression bomb costs no more). Default 100.
   */
  preAuthDecompressionRatio: z.number().int().min(2).max(100_000).default(100),
  /**
   * Longest time, from the request's start, that the relay reads the body of a caller that has
   * not authorized (the SOAP head above, or a refused request's body for its MessageID), ms;
   * then 408 (RELAY_ERR_BODY_TIMEOUT) and the connection is closed. Default 10 s.
   */
  preAuthBodyTimeoutMs: z.number().int().min(100).max(3_600_000).default(10_000),
  /**
   * Requests and net.tcp connections that have not authorized yet, per caller address
   * (trustedProxies decides the address); over it: 429 with Retry-After (net.tcp:
   * ServerTooBusy) and the connection closed. Default 64.
   */
  maxUnauthenticatedPerAddress: z.number().int().min(1).max(1_000_000).default(64),
  /** The same, for all callers together. Default 1024. */
  maxUnauthenticated: z.number().int().min(1).max(10_000_000).default(1024),
  /**
   * A caller refused before it authorized (a failed WebSocket handshake, 429 over the caps above)
   * gets its answer at once, but its connection is closed only after this, ms, unless it hangs up
   * first (guard/tarpit.ts): a loop that reconnects when the relay closes is slowed to one attempt
   * per connection per tarpitMs. 0 turns it off. Default 10 s.
   */
  tarpitMs: z.number().int().min(0).max(600_000).default(10_000),
  /** Most refused connections held at once; past it a refusal closes at once. Default 10,000. */
  maxTarpitted: z.number().int().min(0).max(1_000_000).default(10_000),
  /**
   * Largest SOAP request body, bytes, after decompression: SOAP requests are read whole (to read
   * the action and headers, and strip relay credentials) before they are forwarded. Default 64 MiB.
   */
  maxSoapEnvelopeBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Largest metadata document (WSDL/XSD) the relay rewrites and caches, bytes. Default 16 MiB. */
  maxMetadataBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Metadata documents kept for serving while the agent is offline (bounded LRU). Default 256. */
  metadataCacheEntries: z.number().int().min(0).max(100_000).default(256),
  /** Total size of cached metadata documents, bytes. Default 64 MiB. */
  metadataCacheBytes: z.number().int().min(0).default(64 * 1024 * 1024),
});

const limitsSchema = limitsObject.refine((l) => l.agentControlBodyBytes <= l.maxControlMessageBytes, {
  message: 'must not exceed limits.maxControlMessageBytes',
  path: ['agentControlBodyBytes'],
});

/**
 * Listener keepalive: the relay pings every control channel each `intervalMs`. A channel whose
 * last ping is unanswered at the next one gets no new calls (until it speaks again); after
 * `maxMissed` unanswered pings it is terminated and its calls fail at once. With the defaults a
 * frozen or partitioned listener stops getting calls within 20 s and is evicted within 30 s.
 */
const heartbeatSchema = z.strictObject({
  /** Ping interval on listener control channels, ms. Default 10 s. */
  intervalMs: z.number().int().min(50).default(10_000),
  /** Unanswered pings before the channel is terminated. Default 2. */
  maxMissed: z.number().int().min(1).default(2),
});

const tlsSchema = z.strictObject({
  /** PEM text of the certificate chain. */
  cert: z.string().min(1),
  /** PEM text of the private key. */
  key: z.string().min(1),
});

/** The net.tcp endpoint ([MC-NMF] framing + binary XML; src/relay/endpoints/net-tcp). */
const netTcpSchema = z.strictObject({
  /** TCP port; 0 picks a free port. Default 808 (the NetTcpBinding default). */
  port: z.number().int().min(0).max(65535).default(808),
  /** Address to bind; default the relay's `host`. */
  host: z.string().min(1).optional(),
  /** Public base (net.tcp://host:port) used in WSDL; default derived from the bound address. */
  publicUrl: z.string().regex(/^net\.tcp:\/\/[^/]+\/?$/i, 'expected net.tcp://host[:port]').optional(),
  /** Time a client has to complete a preamble, ms (WCF ChannelInitializationTimeout: 30 s). */
  preambleTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /**
   * Absolute time, from the connection's start, for a client to send its first authorized
   * message (preamble included) to a path that requires a token, ms; then the connection is
   * closed (WCF ChannelInitializationTimeout: 30 s). Default 30 s.
   */
  channelInitializationTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /**
   * Most bytes a connection may send before its first message is authorized (preamble and
   * envelopes together; fault MaxMessageSizeExceededFault). Default 64 KiB (WCF's default
   * MaxReceivedMessageSize).
   */
  preAuthMaxMessageBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024),
  /** A connection with no bytes received and no call in flight is closed after this, ms (WCF ReceiveTimeout: 10 min). */
  idleTimeoutMs: z.number().int().min(100).max(86_400_000).default(600_000),
  /** Open connections before new ones are answered ServerTooBusy. */
  maxConnections: z.number().int().min(1).default(10_000),
  /** Largest envelope a client may send, bytes (fault MaxMessageSizeExceededFault). Default 4 MiB. */
  maxMessageBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(4 * 1024 * 1024),
  /**
   * net.tcp client sessions carried to agents at once per hybrid connection (each holds a
   * service session behind the agent); past it a new session gets the NMF fault ServerTooBusy.
   * Default 1000.
   */
  maxSessionsPerPath: z.number().int().min(1).max(1_000_000).default(1000),
  /** Calls in flight per session before new ones get a ServerTooBusy SOAP fault. */
  maxPendingCallsPerSession: z.number().int().min(1).default(1000),
  /** Session dictionary quota for what the relay writes, bytes (WCF MaxSessionSize: 2048). */
  maxSessionBytes: z.number().int().min(0).max(1024 * 1024).default(2048),
  /** Offer the application/ssl-tls upgrade with the relay's certificate (needs `tls`). Default true. */
  allowTls: z.boolean().default(true),
  /**
   * Refuse a session that did not run the application/ssl-tls upgrade (NMF fault UpgradeInvalid,
   * before any message, token or Via lookup), and advertise Transport security for net.tcp in
   * served WSDL. Default: true when the relay has a certificate (`tls`) and `allowTls`, else false.
   */
  requireTls: z.boolean().optional(),
});

export const relayOptionsSchema = z.strictObject({
  /** Address to bind. Default 0.0.0.0. */
  host: z.string().default('0.0.0.0'),
  /** HTTP(S)/WebSocket port; 0 picks a free port. Default 9443. */
  port: z.number().int().min(0).max(65535).default(9443),
  /** Public base URL (scheme://host:port) used in rendezvous addresses; derived from Host when unset. */
  publicUrl: z.string().url().optional(),
  /** TLS for the relay's endpoints. */
  tls: tlsSchema.optional(),
  /**
   * Proxies whose X-Forwarded-For is believed: IP addresses or CIDRs (`10.0.0.0/8`, `::1`). The
   * caller's address is then the rightmost X-Forwarded-For hop that is not a trusted proxy; the
   * failed-handshake throttle and the unauthenticated caps count by it. Default none:
   * X-Forwarded-For is ignored and the socket's peer address is used.
   */
  trustedProxies: z
    .array(z.string().refine((v) => parseProxyEntry(v) !== undefined, 'expected an IP address or CIDR (10.0.0.0/8, ::1)'))
    .max(1024)
    .default([]),
  /**
   * Host names accepted in a token's audience (sr); '*' accepts any host. Default: the relay's
   * own names: the host of `publicUrl` (and `netTcp.publicUrl`) when set, else the names this
   * machine is reached by (localhost, loopback, bind address, host name, interface addresses)
   * plus the Host header the request came in on. Set `publicUrl` or this for a strict check.
   */
  audienceHosts: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]).optional(),
  /** Grace after a token's `se` before it is refused, seconds (Azure ≈ 300). */
  tokenGraceSeconds: z.number().int().min(0).max(86_400).default(300),
  /**
   * A graceful stop (SIGTERM, `drain()`): how long calls in flight may take to finish, ms, while
   * the node takes no new listeners, answers /$health with 503 and asks its listeners to re-home
   * (close 1001) as soon as they have no call in flight. Default 10 s.
   */
  drainGraceMs: z.number().int().min(0).max(600_000).default(10_000),
  /**
   * Several nodes on one namespace: the URL (http(s)://host:port) at which the other relay nodes
   * reach this one directly, not through a load balancer. A rendezvous a load balancer sends to
   * the wrong node is passed on to its node here. Default: the address the relay is bound to
   * (this machine's host name when bound to every interface).
   */
  internalUrl: z.string().url().optional(),
  /** This relay node's id (multi-node stores). */
  nodeId: z.string().min(1).default('node-1'),
  /** Namespace-level authorization rules (upserted into the store at start). */
  namespaceRules: z.array(ruleSchema).max(12).default([]),
  /** Hybrid connections declared in configuration (upserted into the store at start). */
  entities: z.array(entitySchema).default([]),
  limits: limitsSchema.default(limitsSchema.parse({})),
  heartbeat: heartbeatSchema.default(heartbeatSchema.parse({})),
  /** net.tcp endpoint for WCF NetTcpBinding clients; off when unset. */
  netTcp: netTcpSchema.optional(),
  /**
   * A separate plain-HTTP listener for operators: `/$status`, `/$metrics` and `/$health` with
   * details, no token needed. Off when unset; then those answer on the public port to a Manage
   * token only (and `/$health` says only ok / not ok to anyone else).
   */
  admin: z
    .strictObject({
      /** TCP port; 0 picks a free port. */
      port: z.number().int().min(0).max(65535),
      /** Address to bind. Default 127.0.0.1 (loopback: never expose it without a firewall). */
      host: z.string().min(1).default('127.0.0.1'),
    })
    .optional(),
  /** Serve /$metrics (Prometheus). Default true. */
  metrics: z.boolean().default(true),
  /**
   * One `access` line (level info) per call and per refusal on every endpoint, with the
   * correlation id the caller gets in `Relaybridge-Correlation-Id`. Default true.
   */
  accessLog: z.boolean().default(true),
});

export type RelayOptionsInput = z.input<typeof relayOptionsSchema> & {
  /** Entity store; default an in-memory MemoryStore (the CLI passes a file-backed one). */
  store?: Store;
  logger?: Logger;
  clock?: Clock;
  /** Random source for listener selection (tests). */
  random?: () => number;
};

export type RelayConfig = Readonly<z.output<typeof relayOptionsSchema>> & {
  readonly store?: Store;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
};

const RENAMED: Record<string, string> = {
  listenPort: 'port',
  bind: 'host',
  hybridConnections: 'entities',
  rules: 'namespaceRules',
};

/** Validates relay options once; throws ConfigError naming every bad key. */
export function buildRelayConfig(input: RelayOptionsInput): RelayConfig {
  const { store, logger, clock, random, ...plain } = input;
  const hints = renamedOptionHints(plain, RENAMED);
  if (hints.length) throw new ConfigError('invalid relay options', hints);
  const parsed = relayOptionsSchema.safeParse(plain);
  if (!parsed.success) throw new ConfigError('invalid relay options', formatIssues(parsed.error.issues as unknown as SchemaIssue[]));
  const netTcp = parsed.data.netTcp;
  if (netTcp?.requireTls && (!parsed.data.tls || !netTcp.allowTls)) {
    throw new ConfigError('invalid relay options', ['netTcp.requireTls: needs the relay certificate (tls) and netTcp.allowTls']);
  }
  return deepFreeze({
    ...parsed.data,
    ...(netTcp ? { netTcp: { ...netTcp, requireTls: netTcp.requireTls ?? (!!parsed.data.tls && netTcp.allowTls) } } : {}),
    store,
    logger: logger ?? noopLogger,
    clock: clock ?? systemClock,
    random: random ?? Math.random,
  }) as RelayConfig;
}
