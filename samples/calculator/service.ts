/**
 * The calculator sample: a `soap`-package (node-soap) implementation of wsdl/calculator.wsdl,
 * the ICalculator contract of the WCF captures. Divide(…, 0) raises the typed fault CalcFault (as
 * WCF's FaultException<CalcFault> with code DivideByZero); Fail raises a plain fault; Crash
 * throws an unhandled error; Notify is one-way (remembered for WasNotified).
 *
 * As an agent `module` target:  { type: module, module: dist/samples/calculator/service.js }
 */
import { wsdlPath } from '../common/paths';

export const CALC_NS = 'http://example.org/calc';
export const CALC_DATA_NS = 'http://example.org/calc/data';
export const CALC_FAULTS_NS = 'http://example.org/calc/faults';

/** The WSDL this module implements (the agent reads it, serves it for ?wsdl). */
export const wsdl = wsdlPath('calculator.wsdl');

const notified: string[] = [];

type Args = Record<string, unknown>;

/**
 * A node-soap fault object as WCF writes it. The faultcode declares its own prefix (WCF does the
 * same): WCF clients on Mono read the fault code without the Envelope's namespace declarations.
 */
function calcFault(operation: string, problem: string, reason: string) {
  return {
    Fault: {
      faultcode: { attributes: { 'xmlns:f': CALC_FAULTS_NS }, $value: 'f:DivideByZero' },
      faultstring: reason,
      detail: { 'calcdata:CalcFault': { 'calcdata:Operation': operation, 'calcdata:Problem': problem } },
      statusCode: 500,
    },
  };
}

export const service = {
  CalculatorService: {
    BasicHttpBinding_ICalculator: {
      Add: ({ a, b }: Args) => ({ AddResult: Number(a ?? 0) + Number(b ?? 0) }),
      Echo: ({ text }: Args) => ({ EchoResult: `echo:${String(text ?? '')}` }),
      Divide: ({ a, b }: Args) => {
        if (Number(b ?? 0) === 0) throw calcFault('Divide', 'division by zero', 'Cannot divide by zero');
        return { DivideResult: Math.trunc(Number(a ?? 0) / Number(b)) };
      },
      Fail: ({ msg }: Args) => {
        throw { Fault: { faultcode: 'soap:Client', faultstring: `Fail: ${String(msg ?? '')}`, statusCode: 500 } };
      },
      Crash: async ({ msg }: Args) => {
        throw new Error(`Crash: ${String(msg ?? '')}`);
      },
      Notify: ({ msg }: Args) => {
        notified.push(String(msg ?? ''));
        if (notified.length > 1000) notified.shift();
      },
      WasNotified: ({ msg }: Args) => ({ WasNotifiedResult: notified.includes(String(msg ?? '')) }),
    },
  },
};
