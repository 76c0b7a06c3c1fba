/** [MC-NBFX] binary XML, [MC-NBFS] static and [MC-NBFSE] session dictionaries (the SOAP envelope forms over them are in ../soap-binary). */
export * from './record-types';
export * from './limits';
export * from './hints';
export { STATIC_DICTIONARY, staticKey, staticString } from './static-dictionary';
export { SessionReader, SessionWriter, stringTableEntrySize, type SessionDictionaryOptions } from './session-dictionary';
export { readNbfx, NbfxStreamReader, type NbfxReaderOptions } from './reader';
export { writeNbfx, writeCharsText, type NbfxWriterOptions, type StringPolicy, type StringContext, type StringUse, type StringChoice } from './writer';
export * from './text-values';
