/**
 * Entity shapes shared by auth/, store/, relay/ and the management API.
 * (They live in core/ because auth/ and store/ may import only core/.)
 */

/** Rights of an authorization rule. Manage implies Send and Listen. */
export const Rights = { Listen: 'Listen', Send: 'Send', Manage: 'Manage' } as const;
export type Right = (typeof Rights)[keyof typeof Rights];

/**
 * Per-operation limits on the Send right of a rule, checked on SOAP calls (by their action).
 * Patterns are action URIs, compared exactly (case-sensitive, as WCF compares actions), or
 * ending in `*` to match every action with that prefix (`*` alone matches every action).
 * A call is refused when a `deny` pattern matches it, or when `allow` is given and no `allow`
 * pattern matches it. A rule with `operations` refuses calls that carry no SOAP action.
 */
export interface OperationRules {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

/** A shared access authorization rule (namespace level or entity level). */
export interface AuthorizationRule {
  /** Key name, sent in tokens as `skn`. */
  readonly keyName: string;
  /** Key text (256-bit, base64 text by convention). The HMAC key is the UTF-8 bytes of this text. */
  readonly primaryKey: string;
  readonly secondaryKey?: string;
  readonly rights: readonly Right[];
  /** Optional per-operation allow/deny lists for Send (see OperationRules). */
  readonly operations?: OperationRules;
}

/** A hybrid connection: a path that listeners register under and senders call. */
export interface HybridConnection {
  /** Entity path, e.g. "credit-check" or "team/orders" (no leading or trailing slash). */
  readonly path: string;
  /** When false, senders (HTTP and WebSocket) need no token. Listeners always do. Default true. */
  readonly requiresClientAuthorization: boolean;
  readonly userMetadata?: string;
  /**
   * Event distribution: each HTTP message a sender sends goes to every listener of the path on
   * every relay node (a one-way delivery, answered 202 at once), not to one of them. Default false.
   */
  readonly broadcast?: boolean;
  /** ISO-8601 timestamps. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly authorizationRules: readonly AuthorizationRule[];
}

/** A listener's control channel, as the registry records it. */
export interface ListenerRecord {
  readonly path: string;
  /** The listener's id (its sb-hc-id, or one the relay generated). */
  readonly listenerId: string;
  /** Relay node holding the control channel. */
  readonly nodeId: string;
  /** ISO-8601. */
  readonly connectedAt: string;
  readonly remoteAddress?: string;
  /** Session kinds the listener offered to carry (protocol/hyco/session-carrier.ts). */
  readonly sessionKinds?: readonly string[];
  /** Largest body its control channel takes inline, bytes. */
  readonly controlBodyLimit?: number;
}
