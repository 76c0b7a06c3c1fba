/**
 * Bugs the nmf fuzz targets (test/fuzz/targets.ts) found, one test each, with the input the
 * fuzzer reduced to its essence.
 */
import { ProtocolError } from '../../../../src/core/errors';
import { ClientDecoder, FaultString, Mode, ServerDecoder } from '../../../../src/protocol/nmf';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** A size field past 2^31-1: the 5th octet has bits of 0xF8 set (WCF FramingSizeTooLarge). */
const OVER_INT31 = 'ffffffff0f';
const PREAMBLE_DUPLEX = '000100 0102 0208 6e65742e7463703a 0308 0c';

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return err as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('NMF size fields past 2^31-1 fail with a fault record to send (fuzz finding)', () => {
  it('a Sized Envelope size: MaxMessageSizeExceededFault', () => {
    const d = new ServerDecoder();
    d.push(hex(PREAMBLE_DUPLEX));
    const err = thrown(() => d.push(hex(`06 ${OVER_INT31}`)));
    expect(err.code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expect(err.nmfFault).toBe(FaultString.MaxMessageSizeExceededFault);
  });

  it('the Via length: ViaTooLong', () => {
    const err = thrown(() => new ServerDecoder().push(hex(`000100 0102 02 ${OVER_INT31}`)));
    expect(err.code).toBe('RELAY_ERR_PROTOCOL_FRAME_TOO_LARGE');
    expect(err.nmfFault).toBe(FaultString.ViaTooLong);
  });

  it('an unsized envelope chunk size: MaxMessageSizeExceededFault', () => {
    const d = new ServerDecoder();
    d.push(hex(PREAMBLE_DUPLEX.replace('0102', '0101')));
    const err = thrown(() => d.push(hex(`05 ${OVER_INT31}`)));
    expect(err.nmfFault).toBe(FaultString.MaxMessageSizeExceededFault);
  });

  it('a fault string length and an envelope size on the client side', () => {
    expect(thrown(() => new ClientDecoder().push(hex(`08 ${OVER_INT31}`))).nmfFault).toBeDefined();
    const d = new ClientDecoder({ mode: Mode.Duplex });
    expect(thrown(() => d.push(hex(`0b 06 ${OVER_INT31}`))).nmfFault).toBe(FaultString.MaxMessageSizeExceededFault);
  });
});
