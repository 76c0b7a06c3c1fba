/** The CLI's logger: pino with secrets redacted. Library code only sees the Logger interface. */
import pino from 'pino';
import type { Logger } from '../core/logger';

export function createCliLogger(level: string, pretty = false): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['token', 'key', 'primaryKey', 'secondaryKey', '*.token', '*.key', 'headers.authorization', 'headers.servicebusauthorization'],
      censor: '[redacted]',
    },
    ...(pretty ? { timestamp: pino.stdTimeFunctions.isoTime } : {}),
  }) as unknown as Logger;
}
