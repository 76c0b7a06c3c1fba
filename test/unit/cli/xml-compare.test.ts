/** The replay command's comparison: XML infoset equality with ignore rules, and the line diff. */
import { canonicalLines, DEFAULT_IGNORE, DEFAULT_IGNORE_VALUES, diffLines } from '../../../src/cli/replay/xml-compare';

const opts = { ignore: DEFAULT_IGNORE, ignoreValues: DEFAULT_IGNORE_VALUES };
const same = (a: string, b: string, o = opts) => diffLines(canonicalLines(a, o), canonicalLines(b, o)).equal;

describe('canonicalLines', () => {
  it('ignores prefixes, declarations, attribute order, comments and whitespace', () => {
    expect(
      same(
        '<s:Envelope xmlns:s="urn:e"><s:Body>\n  <r:X xmlns:r="urn:r" b="2" a="1"><!-- c --><r:Y>v</r:Y></r:X></s:Body></s:Envelope>',
        '<e:Envelope xmlns:e="urn:e" xmlns:unused="urn:u"><e:Body><X xmlns="urn:r" a="1" b="2"><Y>v</Y></X></e:Body></e:Envelope>',
      ),
    ).toBe(true);
  });
  it('compares QName values by namespace', () => {
    expect(same('<f xmlns:a="urn:x">a:Code</f>', '<f xmlns:b="urn:x">b:Code</f>')).toBe(true);
    expect(same('<f xmlns:a="urn:x">a:Code</f>', '<f xmlns:a="urn:y">a:Code</f>')).toBe(false);
  });
  it('masks MessageID/RelatesTo, GUIDs and date-times by default; not with no defaults', () => {
    const a = '<E xmlns:w="http://www.w3.org/2005/08/addressing"><w:RelatesTo>urn:uuid:1</w:RelatesTo><t>2024-01-02T03:04:05.123Z</t><g>0f8fad5b-d9cb-469f-a165-70867728950e</g></E>';
    const b = '<E><t>2025-06-07T08:09:10Z</t><g>7c9e6679-7425-40de-944b-e07fc1f90ae7</g></E>';
    expect(same(a, b)).toBe(true);
    expect(same(a, b, { ignore: [], ignoreValues: [] })).toBe(false);
  });
  it('ignores named elements and attributes; a Header left empty is dropped', () => {
    const a = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Action xmlns="urn:none">x</Action></s:Header><s:Body><f xml:lang="">r</f></s:Body></s:Envelope>';
    const b = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><f>r</f></s:Body></s:Envelope>';
    expect(same(a, b)).toBe(false);
    expect(same(a, b, { ignore: ['{urn:none}Action', '@xml:lang'], ignoreValues: [] })).toBe(true);
  });
  it('compares the children of `unordered` elements as a set, and only those', () => {
    const a = '<r xmlns="urn:t"><tags><t>a</t><t>b</t></tags><seq><x>1</x><x>2</x></seq></r>';
    const b = '<r xmlns="urn:t"><tags><t>b</t><t>a</t></tags><seq><x>1</x><x>2</x></seq></r>';
    const c = '<r xmlns="urn:t"><tags><t>b</t><t>a</t></tags><seq><x>2</x><x>1</x></seq></r>';
    const o = { ignore: [], ignoreValues: [], unordered: ['{urn:t}tags'] };
    expect(same(a, b)).toBe(false);
    expect(same(a, b, o)).toBe(true);
    expect(same(a, c, o)).toBe(false); // seq keeps its order
    // A missing member still shows.
    expect(same(a, '<r xmlns="urn:t"><tags><t>b</t></tags><seq><x>1</x><x>2</x></seq></r>', o)).toBe(false);
  });
});

describe('diffLines', () => {
  it('shows removed and added lines with context', () => {
    const d = diffLines(['a', 'b', 'c', 'd', 'e', 'f'], ['a', 'b', 'c', 'X', 'e', 'f']);
    expect(d.equal).toBe(false);
    expect(d.lines).toEqual(['  b', '  c', '- d', '+ X', '  e', '  f']);
  });
});
