/** relaybridge public API. */
export { createRelayServer, type RelayServer } from './relay/relay-server';
export type { RelayOptionsInput, RelayConfig } from './relay/options';
export { createAgent, type Agent, type AgentStateEvent } from './agent/agent';
export type { AgentOptionsInput, AgentConfig } from './agent/options';
export { ChannelState } from './agent/control/listener-channel';
export { createSasToken, parseSasToken, type ParsedSasToken } from './auth/sas-token';
export { sasTokenProvider, staticTokenProvider, type TokenProvider } from './auth/token-provider';
export { generateKey } from './auth/rules';
export { parseConnectionString, formatConnectionString, relayUrlFromEndpoint, type ConnectionString } from './auth/connection-string';
export { MemoryStore } from './store/memory-store';
export type { Store } from './store/store';
export {
  RelayError,
  ProtocolError,
  AuthError,
  ConfigError,
  TimeoutError,
  EndpointNotFoundError,
  QuotaExceededError,
  ERROR_CODES,
  type ErrorCode,
} from './core/errors';
export type { Logger } from './core/logger';
export type { Clock } from './core/clock';
export type { HybridConnection, AuthorizationRule, Right, ListenerRecord } from './core/entities';
export { registerService, SoapFault, type RegisterServiceOptions, type IpcServiceRegistration } from './agent/ipc/ipc-client';
