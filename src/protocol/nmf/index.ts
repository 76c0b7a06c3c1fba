/** [MC-NMF] .NET Message Framing: records, decoders, encoders, faults and limits. */
export * from './records';
export * from './multibyte-int31';
export * from './faults';
export * from './limits';
export * from './encoder';
export { ServerDecoder, ServerState, type ServerFrame, type ServerDecoderOptions } from './server-decoder';
export { ClientDecoder, ClientState, type ClientFrame, type ClientDecoderOptions } from './client-decoder';
