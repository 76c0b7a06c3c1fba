/**
 * Bugs in the SOAP envelope head scanner found while fuzzing (test/fuzz/targets.ts,
 * soap-envelope target), one test each.
 */
import { ProtocolError } from '../../../../src/core/errors';
import { scanEnvelope } from '../../../../src/protocol/soap/envelope';

const HEAD = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Add xmlns="urn:c"><a>1</a></Add>';

function scan(tail: string): ReturnType<typeof scanEnvelope> {
  return scanEnvelope(Buffer.from(HEAD + tail, 'utf8'));
}

describe('what may follow </Body></Envelope>', () => {
  it('accepts whitespace, comments and processing instructions', () => {
    const info = scan('</s:Body >\r\n</s:Envelope\t>\n<!-- a -- b --> <?pi x?><!----><?x?>\n');
    expect(info.body.contentEnd).toBe(Buffer.byteLength(HEAD));
  });

  it('refuses text between two comments (the old pattern let a comment span `--> x <!--`)', () => {
    expect(() => scan('</s:Body></s:Envelope><!-- a --> x <!-- b -->')).toThrow(ProtocolError);
    expect(() => scan('</s:Body></s:Envelope><?a?> x <?b?>')).toThrow(ProtocolError);
  });

  it('refuses an unterminated comment or PI, and anything else', () => {
    for (const tail of ['</s:Body></s:Envelope><!-- a', '</s:Body></s:Envelope><?pi', '</s:Body></s:Envelope>x', '</s:Body></s:Envelope><a/>', '</s:Body>']) {
      expect(() => scan(tail)).toThrow(ProtocolError);
    }
  });

  it('many comments followed by a stray byte are refused in linear time (the pattern backtracked 2^n ways)', () => {
    // 40 comments: about 2^40 steps for the old regular expression, i.e. the event loop was gone.
    expect(() => scan(`</s:Body></s:Envelope>${'<!---->'.repeat(40)}x`)).toThrow(ProtocolError);
    expect(() => scan(`</s:Body></s:Envelope>${'<!-- -->'.repeat(10_000)}`)).not.toThrow();
  });
});
