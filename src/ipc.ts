/**
 * `relaybridge/ipc`: the light entry for a Node service that registers SOAP operations with a
 * local agent over IPC. Loads net-ipc and the XML/WSDL readers only: no express, no soap, no
 * relay or agent server code (a test checks require.cache).
 */
export { registerService, SoapFault, type RegisterServiceOptions, type IpcServiceRegistration } from './agent/ipc/ipc-client';
