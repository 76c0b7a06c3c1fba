import {
  AuthError,
  ConfigError,
  ERROR_CODES,
  EndpointNotFoundError,
  ProtocolError,
  QuotaExceededError,
  RelayError,
  TimeoutError,
  relayError,
  type ErrorCode,
} from '../../../src/core/errors';

describe('the error registry: a kind per code, classes derived from it', () => {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it('relayError builds the class of each code kind, with the kind and the wire forms of the registry', () => {
    const classOf: Record<string, new (...a: never[]) => RelayError> = {
      protocol: ProtocolError,
      auth: AuthError,
      timeout: TimeoutError,
      'not-found': EndpointNotFoundError,
      quota: QuotaExceededError,
    };
    for (const code of codes) {
      const e = relayError(code, 'm');
      const entry = ERROR_CODES[code] as { kind: string; httpStatus?: number; wsCloseCode?: number };
      expect({ code, kind: e.kind, cls: e.constructor.name }).toEqual({ code, kind: entry.kind, cls: (classOf[entry.kind] ?? RelayError).name });
      expect(e).toBeInstanceOf(RelayError);
      expect(e.httpStatus).toBe(entry.httpStatus);
      expect(e.wsCloseCode).toBe(entry.wsCloseCode);
    }
  });

  it('a configuration error is a 400 with its kind; a site may still override a wire form', () => {
    const c = new ConfigError('invalid body', ['x: expected a string']);
    expect({ kind: c.kind, status: c.httpStatus, message: c.message }).toEqual({ kind: 'config', status: 400, message: 'invalid body:\n  - x: expected a string' });
    expect(new ProtocolError('RELAY_ERR_PROTOCOL_INVALID_MESSAGE', 'm', { httpStatus: 415 }).httpStatus).toBe(415);
  });

  it('every auth code closes a WebSocket with 1008 or names none (1008 is the default)', () => {
    for (const code of codes.filter((c) => ERROR_CODES[c].kind === 'auth')) {
      expect([undefined, 1008]).toContain((ERROR_CODES[code] as { wsCloseCode?: number }).wsCloseCode);
    }
  });
});
