/**
 * Hands a pending request to a listener of its entity: a healthy listener picked at random
 * (honouring the Allowed/Disallowed pinning lists), the request sent on its control channel (body
 * within its control-body limit) or in the address-only form (rendezvous), and failover to another listener
 * when the picked channel died between pick and send (hybrid-connections.md §6). Every refusal
 * fails the pending request, so the caller always gets an answer.
 */
import { RelayError, toRelayError } from '../../../core/errors';
import type { HybridConnection } from '../../../core/entities';
import type { RelayContext } from '../../context';
import type { ControlChannel } from '../control/control-channel';
import type { PendingRequest } from './pending-request';

export interface DispatchOptions {
  /**
   * The whole body, when it was read and its headers fit the control channel: it goes on the
   * control channel if within the picked channel's limit. Otherwise (or when undefined) the
   * address-only form is sent and the listener fetches the request over rendezvous.
   */
  controlBody: Buffer | undefined;
  allowed?: readonly string[];
  disallowed?: readonly string[];
}

export function dispatchToListener(ctx: RelayContext, pending: PendingRequest, entity: HybridConnection, o: DispatchOptions): void {
  const exclude = new Set<string>();
  try {
    for (;;) {
      const channel = pickListener(ctx, entity, o, exclude);
      pending.parts.address = `${ctx.rendezvousBase(channel.hostHeader)}/$hc/${encodePath(entity.path)}?sb-hc-action=request&sb-hc-id=${pending.parts.id}`;
      const inline = o.controlBody !== undefined && o.controlBody.length <= channel.controlBodyLimit;
      const sent = inline ? pending.sendOnControl(channel, o.controlBody!) : pending.sendAddressOnly(channel);
      if (sent) return;
      exclude.add(channel.listenerId);
    }
  } catch (err) {
    pending.fail(toRelayError(err));
  }
}

function pickListener(ctx: RelayContext, entity: HybridConnection, o: DispatchOptions, exclude: Set<string>): ControlChannel {
  const picked = ctx.registry.pick(entity.path, { allowed: o.allowed, disallowed: o.disallowed, exclude });
  if (picked.reason === 'pinning') {
    throw new RelayError('RELAY_ERR_LISTENER_PINNING', 'None of the connected listeners meet the AllowedListeners/DisallowedListeners criteria');
  }
  if (!picked.listener) {
    throw new RelayError('RELAY_ERR_NO_LISTENER', ctx.describe(`No listener is connected for '${entity.path}'.`, entity.path));
  }
  if (picked.listener.pending.size >= ctx.config.limits.maxPendingRequestsPerListener) {
    throw new RelayError('RELAY_ERR_TOO_BUSY', 'The listener has too many requests in flight; retry later.');
  }
  return picked.listener;
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
