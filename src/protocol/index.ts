/**
 * `relaybridge/protocol`: the I/O-free codecs, one namespace per protocol (names repeat between
 * protocols, e.g. each has its limits). Bytes or text in, typed values out, and back.
 */
export * as hyco from './hyco';
export * as nmf from './nmf';
export * as nbfx from './nbfx';
export * as websocket from './websocket';
export * as soapEnvelope from './soap/envelope';
export * as soapMessage from './soap/soap-message';
export * as soapHead from './soap/soap-head';
export * as soapBinary from './soap-binary';
export * as soapFault from './soap/fault';
export * as soapAddressing from './soap/addressing';
export * as soapContentType from './soap/content-type';
export * as soapTranslate from './soap/translate';
export * as xmlTokens from './xml/tokens';
export * as xmlTextReader from './xml/text-reader';
export * as xmlTextWriter from './xml/text-writer';
export * as xmlTree from './xml/tree';
