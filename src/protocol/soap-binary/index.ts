/** SOAP envelopes in binary XML (net.tcp's msbin1 / msbinsession1) and their text form: over nbfx/ and soap/. */
export * from './envelope';
export { TokenSoapMessage, type TokenHeader } from './token-message';
