/** Azure-style error texts: a message with a tracking id, the entity path and a timestamp. */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock';

export type Describe = (message: string, path?: string) => string;

/** `message TrackingId:…, SystemTracker:path, Timestamp:…`, as Azure Relay words its errors. */
export function trackingDescriber(clock: Clock): Describe {
  return (message, path) => {
    const tracker = path ? `, SystemTracker:${path}` : '';
    return `${message} TrackingId:${randomUUID()}${tracker}, Timestamp:${new Date(clock.now()).toISOString()}`;
  };
}
