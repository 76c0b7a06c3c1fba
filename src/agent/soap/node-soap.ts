/**
 * Glue for services written with the `soap` package (node-soap): it wraps every operation so
 * that a thrown error becomes a well-formed SOAP fault with HTTP 500. node-soap itself answers an
 * unhandled error with SOAP 1.2 style Code/Reason elements under an undeclared `SOAP-ENV:` prefix
 * (even in a SOAP 1.1 envelope) and sends faults from async operations with HTTP 200; a WCF
 * client cannot read either.
 */
import type { SoapVersion } from '../../protocol/soap/addressing';

/** node-soap's services object: service → port → operation. */
export type SoapServices = Record<string, Record<string, Record<string, SoapOperation>>>;
// Operations take whatever node-soap parsed from the request (typed per the WSDL schema).
export type SoapOperation = (args: any, callback?: (...a: unknown[]) => void, headers?: unknown, req?: unknown, res?: unknown) => unknown;

export interface WrapOptions {
  /** The SOAP version node-soap writes (its `soap:` envelope prefix). */
  soapVersion: SoapVersion;
  /** Put the exception's message in the fault (as WCF's IncludeExceptionDetailInFaults). Default false. */
  includeExceptionDetail?: boolean;
}

/** The reason WCF gives when exception details are off. */
export const INTERNAL_ERROR_REASON = 'The server was unable to process the request due to an internal error.';

interface NodeSoapFault {
  Fault: Record<string, unknown> & { statusCode?: number };
}

function isFault(e: unknown): e is NodeSoapFault {
  return typeof e === 'object' && e !== null && typeof (e as NodeSoapFault).Fault === 'object' && (e as NodeSoapFault).Fault !== null;
}

/** A node-soap `{ Fault }` object for anything thrown (a `{ Fault }` keeps its content, gains HTTP 500). */
export function toNodeSoapFault(err: unknown, options: WrapOptions): NodeSoapFault {
  if (isFault(err)) {
    if (err.Fault.statusCode === undefined) err.Fault.statusCode = 500;
    return err;
  }
  const reason = options.includeExceptionDetail ? (err instanceof Error ? err.message : String(err)) : INTERNAL_ERROR_REASON;
  // node-soap writes the envelope with the prefix `soap`.
  const fault: Record<string, unknown> =
    options.soapVersion === 'soap12'
      ? { Code: { Value: 'soap:Receiver' }, Reason: { Text: reason } }
      : { faultcode: 'soap:Server', faultstring: reason };
  return { Fault: { ...fault, statusCode: 500 } };
}

/** A copy of `services` whose operations turn thrown errors and rejections into proper faults. */
export function wrapSoapServices(services: SoapServices, options: WrapOptions): SoapServices {
  const out: SoapServices = {};
  for (const [serviceName, ports] of Object.entries(services)) {
    out[serviceName] = {};
    for (const [portName, ops] of Object.entries(ports)) {
      const wrapped: Record<string, SoapOperation> = {};
      for (const [name, fn] of Object.entries(ops)) {
        if (typeof fn !== 'function') continue;
        wrapped[name] = function (this: unknown, args, callback, headers, req, res) {
          let result: unknown;
          try {
            result = fn.call(this, args, callback, headers, req, res);
          } catch (err) {
            throw toNodeSoapFault(err, options);
          }
          if (result && typeof (result as Promise<unknown>).then === 'function') {
            return (result as Promise<unknown>).then(undefined, (err: unknown) => {
              throw toNodeSoapFault(err, options);
            });
          }
          return result;
        };
      }
      out[serviceName][portName] = wrapped;
    }
  }
  return out;
}
