export * from './errors';
export * from './logger';
export * from './clock';
export * from './backoff';
export * from './byte-queue';
export * from './entities';
export * from './options-util';
export * from './state-machine';
