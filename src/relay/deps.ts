/**
 * What an endpoint is built with, by the composition root (relay-server.ts): configuration,
 * access control, the router, metrics, a logger and the pre-auth guard. Nothing else is shared
 * between endpoints, and nothing here is assigned after construction.
 */
import type { Logger } from '../core/logger';
import type { Store } from '../store/store';
import type { AccessControl } from './access/access-control';
import type { AccessLog } from './http/access-log';
import type { ClientAddressResolver } from './guard/client-address';
import type { PreAuthSlots } from './guard/pre-auth-slots';
import type { Tarpit } from './guard/tarpit';
import type { RelayMetrics } from './metrics';
import type { RelayConfig } from './options';
import type { Router } from './routing/router';

/** Caller addresses (trustedProxies, X-Forwarded-For) and the caps on not-yet-authorized callers. */
export interface PreAuthGuard {
  readonly clientAddresses: ClientAddressResolver;
  readonly preAuthSlots: PreAuthSlots;
  /** Refused unauthenticated callers: answered at once, their connection held a while (limits.tarpitMs). */
  readonly tarpit: Tarpit;
}

export interface EndpointDeps {
  readonly config: RelayConfig;
  readonly access: AccessControl;
  readonly router: Router;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly guard: PreAuthGuard;
  /** One access line per call and refusal (http/access-log.ts); recent calls for the status page. */
  readonly accessLog: AccessLog;
}

/** One relay node of the namespace, as the status page and /$health show it. */
export interface NodeView {
  readonly nodeId: string;
  /** Listeners connected to that node. */
  readonly listeners: number;
  /** This node. */
  readonly self: boolean;
  readonly draining: boolean;
}

/** The management API and the status page also read and write the store (entities, rules). */
export interface ManagementDeps extends EndpointDeps {
  readonly store: Store;
  /** Every relay node sharing the namespace, this one first (only this one without a shared store). */
  readonly nodes: () => readonly NodeView[];
}
