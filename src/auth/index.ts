export * from './sas-token';
export * from './rules';
export * from './token-provider';
export * from './connection-string';
