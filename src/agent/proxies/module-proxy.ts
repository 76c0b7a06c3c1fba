/**
 * The `module` service proxy: a Node module implementing a WSDL with the `soap` package runs
 * inside the agent. node-soap's Server is driven without HTTP (`createServerless` +
 * `processRequest`), so a call costs no extra hop; the SOAP layer in front of it (SoapHttpProxy)
 * translates SOAP versions, serves the WSDL for `?wsdl`, and turns timeouts into faults.
 *
 * The module exports (CommonJS or ES module default):
 *   service | services   node-soap services object { Service: { Port: { Op(args) { … } } } }
 *   createService()      or a (possibly async) factory for it
 *   wsdl                 WSDL XML, or a path to it (a path is resolved from the module's folder);
 *                        the `wsdl` option in config takes precedence
 *   close()              optional, called when the agent stops
 */
import fs from 'node:fs';
import path from 'node:path';
import { createServerless, type Server as SoapServer } from 'soap';
import { ConfigError, RelayError, TimeoutError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { SoapVersion } from '../../protocol/soap/addressing';
import { wrapSoapServices, type SoapServices } from '../soap/node-soap';
import { bufferedResponse, classifyRequest, readBody, soapVersionOption } from '../soap/soap-http';
import { readWsdlInfo } from '../../protocol/soap/wsdl-info';
import type { LocalRequest, LocalResponse } from './http-proxy';
import type { ServiceProxy } from './service-proxy';
import { SoapHttpProxy, type SoapTransport } from './soap-http-proxy';

export interface ModuleTarget {
  module: string;
  wsdl?: string;
  soapVersion: 'auto' | '1.1' | '1.2';
  timeoutMs: number;
  maxMessageBytes: number;
  /** Put exception messages in faults (WCF's IncludeExceptionDetailInFaults). */
  includeExceptionDetail: boolean;
}

export interface SoapServiceModule {
  service?: SoapServices;
  services?: SoapServices;
  createService?: () => SoapServices | Promise<SoapServices>;
  wsdl?: string;
  close?: () => void | Promise<void>;
}

interface Loaded {
  server: SoapServer;
  mod: SoapServiceModule;
}

/** Loads the module and its WSDL synchronously (config errors surface at agent start). */
function loadModule(target: ModuleTarget): { mod: SoapServiceModule; wsdl: string } {
  const file = path.resolve(target.module);
  let mod: SoapServiceModule;
  try {
    const loaded = require(file) as SoapServiceModule & { default?: SoapServiceModule };
    mod = loaded.default && !loaded.service && !loaded.services && !loaded.createService ? loaded.default : loaded;
  } catch (err) {
    throw new ConfigError('invalid agent options', [`services[].target.module: cannot load ${file}: ${(err as Error).message}`]);
  }
  if (!mod.service && !mod.services && typeof mod.createService !== 'function') {
    throw new ConfigError('invalid agent options', [`services[].target.module: ${file} exports neither service, services nor createService()`]);
  }
  const source = target.wsdl ? path.resolve(target.wsdl) : mod.wsdl;
  if (!source) throw new ConfigError('invalid agent options', [`services[].target.wsdl: ${file} exports no wsdl; give the WSDL file in config`]);
  let wsdl: string;
  if (source.trimStart().startsWith('<')) wsdl = source;
  else {
    const wsdlFile = target.wsdl ? source : path.resolve(path.dirname(file), source);
    try {
      wsdl = fs.readFileSync(wsdlFile, 'utf8');
    } catch (err) {
      throw new ConfigError('invalid agent options', [`services[].target.wsdl: cannot read ${wsdlFile}: ${(err as Error).message}`]);
    }
  }
  return { mod, wsdl };
}

class ServerlessTransport implements SoapTransport {
  readonly #ready: Promise<Loaded>;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(ready: Promise<Loaded>, timeoutMs: number, maxBytes: number) {
    this.#ready = ready;
    this.#timeoutMs = timeoutMs;
    this.#maxBytes = maxBytes;
    ready.catch(() => undefined);
  }



  localUrl(requestTarget: string): URL {
    return new URL(requestTarget, 'http://module.local');
  }

  serviceUrl(): URL {
    return new URL('http://module.local/');
  }

  async call(req: LocalRequest): Promise<LocalResponse> {
    if (classifyRequest(req).kind !== 'soap') {
      if (req.body && !Buffer.isBuffer(req.body)) req.body.resume();
      return bufferedResponse(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'POST' }, Buffer.from('This path serves SOAP calls (POST) and its WSDL (GET ?wsdl).\n'), 'Method Not Allowed');
    }
    const body = await readBody(req.body, this.#maxBytes);
    let loaded: Loaded;
    try {
      loaded = await this.#ready;
    } catch (err) {
      throw new RelayError('RELAY_ERR_TARGET_UNREACHABLE', `the service module failed to start: ${(err as Error).message}`, { cause: err });
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError('RELAY_ERR_TIMEOUT', `the service module did not answer in ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      const res = await Promise.race([loaded.server.processRequest(body.toString('utf8'), { method: 'POST', url: '/', headers }), timeout]);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = String(v);
      const payload = Buffer.from(res.body ?? '', 'utf8');
      return bufferedResponse(res.statusCode || 200, payload.length ? out : {}, payload);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const loaded = await this.#ready.catch(() => undefined);
    await loaded?.mod.close?.();
  }
}

/** Builds the `module` proxy; throws ConfigError when the module or its WSDL cannot be loaded. */
export function createModuleProxy(target: ModuleTarget, logger: Logger): ServiceProxy {
  const { mod, wsdl } = loadModule(target);
  const declared = soapVersionOption(target.soapVersion);
  const contract = readWsdlInfo(wsdl);
  const versions = contract.soapVersions;
  const soapVersion: SoapVersion = declared ?? versions[0] ?? 'soap11';
  const ready = (async (): Promise<Loaded> => {
    const raw = mod.service ?? mod.services ?? (await mod.createService!());
    const services = wrapSoapServices(raw, { soapVersion, includeExceptionDetail: target.includeExceptionDetail });
    const server = await new Promise<SoapServer>((resolve, reject) => {
      let s: SoapServer | undefined;
      let done: { err: unknown } | undefined;
      const finish = (err: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(s!);
      };
      void createServerless({
        path: '/',
        services,
        xml: wsdl,
        oneWay: { responseCode: 202 },
        suppressStack: true,
        forceSoap12Headers: soapVersion === 'soap12',
        callback: (err: unknown) => {
          if (s) finish(err);
          else done = { err };
        },
      }).then((server) => {
        s = server;
        if (done) finish(done.err);
      }, reject);
    });
    return { server, mod };
  })();
  ready.catch((err: unknown) => logger.error({ err: (err as Error).message, module: target.module }, 'the service module failed to start'));
  const transport = new ServerlessTransport(ready, target.timeoutMs, target.maxMessageBytes);
  return new SoapHttpProxy(transport, {
    soapVersion,
    wsdl,
    rewriteTo: false,
    // node-soap answers an operation its WSDL lacks with a TypeError as HTTP 500 text.
    knownActionsOnly: true,
    maxMessageBytes: target.maxMessageBytes,
    timeoutMs: target.timeoutMs,
    logger,
  });
}
