/**
 * What serves a path, by its target's type: one builder per type in a table (a new target type
 * is a new row, and the compiler insists on one for every type the options allow). A builder
 * gives the service proxy for relayed HTTP/SOAP calls, the stream target for relayed WebSocket
 * connections, and the session target for relayed net.tcp client sessions, as the type has them.
 */
import type { Logger } from '../core/logger';
import type { IpcHub } from './ipc/ipc-hub';
import type { ServiceTarget } from './options';
import { HttpProxy } from './proxies/http-proxy';
import { IpcProxy } from './proxies/ipc-proxy';
import { createModuleProxy } from './proxies/module-proxy';
import { NetTcpProxy } from './proxies/net-tcp-proxy';
import type { ServiceProxy, SessionTarget } from './proxies/service-proxy';
import { SoapHttpProxy } from './proxies/soap-http-proxy';
import { tcpTarget, wsTarget, type StreamTarget } from './proxies/stream-proxy';
import { soapVersionOption } from './soap/soap-http';

/** What serves one path (each as its target type has it). */
export interface PathServing {
  readonly http?: ServiceProxy;
  readonly stream?: StreamTarget;
  readonly sessions?: SessionTarget;
}

export interface TargetContext {
  readonly path: string;
  readonly logger: Logger;
  /** The IPC hub listening on a socket path (one per socket, shared by the paths on it). */
  hubFor(socketPath: string): IpcHub;
  /** A configured WSDL file's text. */
  readWsdl(file: string): string;
}

type Builders = { readonly [K in ServiceTarget['type']]: (target: Extract<ServiceTarget, { type: K }>, ctx: TargetContext) => PathServing };

const TARGETS: Builders = {
  http: (t, ctx) => ({
    http: new SoapHttpProxy(new HttpProxy(ctx.path, { url: t.url, timeoutMs: t.timeoutMs, ca: t.ca, rejectUnauthorized: t.rejectUnauthorized }), {
      soapVersion: soapVersionOption(t.soapVersion),
      wsdlUrl: t.wsdlUrl,
      wsdl: t.wsdl === undefined ? undefined : ctx.readWsdl(t.wsdl),
      rewriteTo: t.rewriteTo,
      address: t.address,
      maxMessageBytes: t.maxMessageBytes,
      timeoutMs: t.timeoutMs,
      ca: t.ca,
      rejectUnauthorized: t.rejectUnauthorized,
      logger: ctx.logger,
    }),
  }),
  module: (t, ctx) => ({ http: createModuleProxy(t, ctx.logger) }),
  ipc: (t, ctx) => ({
    // The same SOAP front, with no version of its own (the processes take either) and no To to rewrite.
    http: new SoapHttpProxy(new IpcProxy(ctx.path, ctx.hubFor(t.socketPath), { timeoutMs: t.timeoutMs, maxMessageBytes: t.maxMessageBytes, logger: ctx.logger }), {
      rewriteTo: false,
      maxMessageBytes: t.maxMessageBytes,
      timeoutMs: t.timeoutMs,
      logger: ctx.logger,
    }),
  }),
  nettcp: (t, ctx) => {
    const backend = new NetTcpProxy({ ...t, wsdl: t.wsdl === undefined ? undefined : ctx.readWsdl(t.wsdl), logger: ctx.logger });
    // The same SOAP front as http: net.tcp takes SOAP 1.2, so SOAP 1.1 callers are translated.
    const front = new SoapHttpProxy(backend, {
      soapVersion: 'soap12',
      rewriteTo: true,
      address: t.address ?? t.url,
      maxMessageBytes: t.maxMessageBytes,
      timeoutMs: t.timeoutMs,
      logger: ctx.logger,
    });
    return { http: front, sessions: backend };
  },
  tcp: (t) => ({ stream: tcpTarget(t.host, t.port) }),
  ws: (t) => ({ stream: wsTarget(t.url) }),
};

/** What serves a path with this target. */
export function buildTarget(target: ServiceTarget, ctx: TargetContext): PathServing {
  return (TARGETS[target.type] as (t: ServiceTarget, c: TargetContext) => PathServing)(target, ctx);
}
