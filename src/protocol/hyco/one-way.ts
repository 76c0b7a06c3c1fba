/**
 * A relaybridge extension to responses (not part of Azure's protocol): the agent marks a
 * service's empty 2xx answer (WCF's one-way acknowledgement, HTTP 202, or Mono's empty 200)
 * with `x-relaybridge-one-way: 1`. A relay that relays a net.tcp request-reply message (one
 * with a MessageID) takes an empty 2xx as "no reply will come" only with that mark (or when it
 * knows the action is one-way); from any other listener (hyco-https, a .NET listener) an empty
 * 2xx to such a message is a fault, so the WCF client never waits out its SendTimeout.
 */
export const ONE_WAY_ACK_HEADER = 'x-relaybridge-one-way';
