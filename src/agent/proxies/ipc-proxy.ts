/**
 * The `ipc` back-end: SOAP calls on a path are served by local Node processes that registered
 * operations with the agent over net-ipc (ipc/ipc-hub.ts), with no HTTP hop. It sits behind the
 * same SOAP front as every target (soap-http-proxy.ts), which classifies, reads the body and the
 * envelope once and hands that reading over (wantsEnvelope); here the call is dispatched by its
 * Body element (or action) with plain arguments, and the reply or fault is written in the
 * caller's SOAP version (the front never translates: the processes take either version).
 */
import { RelayError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { inspectEnvelope, type EnvelopeInfo } from '../../protocol/soap/soap-message';
import type { XmlLimits } from '../../protocol/xml/limits';
import { parseXmlTree } from '../../protocol/xml/tree';
import type { IpcHub, IpcRegistration } from '../ipc/ipc-hub';
import { buildRpcFault, buildRpcReply, readRpcCall } from '../ipc/soap-rpc';
import { acceptedResponse, actionNotSupportedResponse, bufferedResponse, classifyRequest, faultResponse, headerValue, isWholeWsdl, readBody, xmlLimitsFor } from '../soap/soap-http';
import { readWsdlInfo, replyActionFor, type QName, type WsdlInfo } from '../../protocol/soap/wsdl-info';
import type { LocalRequest, LocalResponse } from './http-proxy';
import type { SoapTransport } from './soap-http-proxy';

export interface IpcProxyOptions {
  timeoutMs: number;
  maxMessageBytes: number;
  logger: Logger;
}

export class IpcProxy implements SoapTransport {
  readonly #path: string;
  readonly #hub: IpcHub;
  readonly #o: IpcProxyOptions;
  readonly #limits: Partial<XmlLimits>;
  /** Registered WSDLs, read (null: unreadable). */
  readonly #contracts = new WeakMap<IpcRegistration, WsdlInfo | null>();

  constructor(path: string, hub: IpcHub, options: IpcProxyOptions) {
    this.#path = path;
    this.#hub = hub;
    this.#o = options;
    this.#limits = xmlLimitsFor(options.maxMessageBytes);
    hub.allow(path);
  }

  close(): void {
    /* the hub is closed by the agent */
  }

  /** The front reads every envelope for this back-end. */
  readonly wantsEnvelope = true;

  /**
   * A SOAP call with the front's reading of its envelope; without one, a metadata GET, another
   * request (405), or a SOAP POST whose body the front could not read as an envelope (a fault).
   * Failures are faults in the caller's version with their message: the caller's own processes
   * answer, nothing private is behind them.
   */
  async call(req: LocalRequest, envelope?: EnvelopeInfo): Promise<LocalResponse> {
    if (envelope && Buffer.isBuffer(req.body)) {
      try {
        return await this.#dispatch(req.body, envelope);
      } catch (err) {
        return faultResponse(err, envelope.soapVersion, envelope.addressing, this.#o.logger, { expose: true, id: req.id });
      }
    }
    const kind = classifyRequest(req);
    if (kind.kind === 'metadata') {
      const wsdl = this.#hub.registered(this.#path).find((r) => r.wsdl)?.wsdl;
      if (wsdl && isWholeWsdl(kind.query)) return bufferedResponse(200, { 'content-type': 'text/xml; charset=utf-8' }, Buffer.from(wsdl, 'utf8'), 'OK');
      return text(404, 'Not Found', `No WSDL was registered for '${this.#path}'.\n`);
    }
    if (kind.kind !== 'soap') {
      if (req.body && !Buffer.isBuffer(req.body)) req.body.resume();
      return text(405, 'Method Not Allowed', `'${this.#path}' serves SOAP calls (POST text/xml or application/soap+xml).\n`);
    }
    try {
      const body = await readBody(req.body, this.#o.maxMessageBytes);
      return await this.#dispatch(body, inspectEnvelope(body, headerValue(req.headers, 'content-type'), headerValue(req.headers, 'soapaction'), this.#limits));
    } catch (err) {
      return faultResponse(err, kind.soapVersion, undefined, this.#o.logger, { expose: true, id: req.id });
    }
  }

  /** Only the path matters (the front keys what it learns by it). */
  localUrl(requestTarget: string): URL {
    return new URL(requestTarget, 'http://localhost');
  }

  /** The processes register their WSDL with the hub: there is none to fetch. */
  serviceUrl(): URL | undefined {
    return undefined;
  }

  async #dispatch(body: Buffer, info: EnvelopeInfo): Promise<LocalResponse> {
    const call = readRpcCall(body, this.#limits);
    const fromAction = info.action?.slice(info.action.lastIndexOf('/') + 1);
    const registered = this.#hub.registered(this.#path);
    if (registered.length === 0) {
      throw new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `no local process has registered '${this.#path}' with the agent`);
    }
    let operation = call.element;
    let reg = this.#hub.pick(this.#path, operation);
    if (!reg && fromAction) {
      operation = fromAction;
      reg = this.#hub.pick(this.#path, operation);
    }
    if (!reg) return this.#actionNotSupported(info, call.element);
    const op = reg.operations.get(operation)!;
    const soapVersion = info.soapVersion === 'soap11' ? '1.1' : '1.2';
    const msg = { t: op.oneWay ? ('notify' as const) : ('call' as const), path: this.#path, operation, args: call.args, action: info.action, soapVersion } as const;
    if (op.oneWay) {
      await this.#hub.call(reg, msg, this.#o.timeoutMs);
      return acceptedResponse();
    }
    const reply = await this.#hub.call(reg, msg, this.#o.timeoutMs);
    // Actions the registered WSDL names (a fault the process gave no action: by its detail element).
    const contract = info.addressing && this.#contract(reg);
    if (!reply.ok) {
      let fault = reply.fault;
      if (fault.action === undefined && contract) fault = { ...fault, action: replyActionFor(contract, info.action, { fault: true, detail: rootElement(fault.detail) }) };
      const f = buildRpcFault(info.soapVersion, fault, info.addressing);
      return bufferedResponse(500, { 'content-type': f.contentType }, f.body, 'Internal Server Error');
    }
    const action = contract ? replyActionFor(contract, info.action, { fault: false }) : undefined;
    const out = buildRpcReply({ soapVersion: info.soapVersion, operation, namespace: call.namespace, result: reply.result, bare: op.bare, addressing: info.addressing, action });
    return bufferedResponse(200, { 'content-type': contentTypeOf(info) }, out, 'OK');
  }

  /** The WSDL registered with the path (by `reg` or another process on it), read once. */
  #contract(reg: IpcRegistration): WsdlInfo | undefined {
    const withWsdl = reg.wsdl ? reg : this.#hub.registered(this.#path).find((r) => r.wsdl);
    if (!withWsdl) return undefined;
    let info = this.#contracts.get(withWsdl);
    if (info === undefined) {
      try {
        info = readWsdlInfo(withWsdl.wsdl!);
      } catch (err) {
        this.#o.logger.info({ err: (err as Error).message }, 'the registered WSDL could not be read; replies get default actions');
        info = null;
      }
      this.#contracts.set(withWsdl, info);
    }
    return info ?? undefined;
  }

  /** WCF's answer to an unknown operation: a Sender fault with subcode ActionNotSupported. */
  #actionNotSupported(info: EnvelopeInfo, element: string): LocalResponse {
    return actionNotSupportedResponse(info.soapVersion, info.action, info.addressing, `No local process registered the operation '${element}' for '${this.#path}'.`);
  }

}

function contentTypeOf(info: EnvelopeInfo): string {
  return info.soapVersion === 'soap11' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8';
}

function text(status: number, message: string, body: string): LocalResponse {
  return bufferedResponse(status, { 'content-type': 'text/plain; charset=utf-8' }, Buffer.from(body, 'utf8'), message);
}

/** The QName of a fault detail's element (the detail is one XML element as text). */
function rootElement(detail: string | undefined): QName | undefined {
  if (detail === undefined) return undefined;
  try {
    const root = parseXmlTree(detail, { maxInputBytes: 1024 * 1024 });
    return { namespaceUri: root.namespaceUri, localName: root.localName };
  } catch {
    return undefined;
  }
}
