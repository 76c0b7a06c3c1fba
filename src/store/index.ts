export * from './store';
export * from './memory-store';
export * from './validate';
