/** Typed arguments from a WSDL's XML Schema (src/agent/soap/xsd-values.ts), on envelope-read values. */
import fs from 'node:fs';
import path from 'node:path';
import { readRpcCall } from '../../../src/agent/ipc/soap-rpc';
import { readXsdSchema, typedValue } from '../../../src/agent/soap/xsd-values';

const orders = fs.readFileSync(path.resolve(__dirname, '../../fixtures/wsdl/orders.wsdl'), 'utf8');
const calculator = fs.readFileSync(path.resolve(__dirname, '../../../wsdl/calculator.wsdl'), 'utf8');
const schema = readXsdSchema([orders]);
const book = schema.elementType({ namespaceUri: 'urn:orders', localName: 'Book' });

const envelope = (body: string) => Buffer.from(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${body}</s:Body></s:Envelope>`);

describe('typedValue', () => {
  it('types a DataContract from an envelope: inherited fields, numbers, dates, bytes, lists, nesting', () => {
    const { args } = readRpcCall(
      envelope(`<Book xmlns="urn:orders" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><order xmlns:d="urn:orders:data" xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">
        <d:Id>9007199254740991</d:Id><d:When>2024-01-02T03:04:05Z</d:When><d:Price>19.990000000000000001</d:Price><d:Weight>-INF</d:Weight>
        <d:Rush>1</d:Rush><d:Photo>AAEC/w==</d:Photo><d:Tags><a:string>red</a:string></d:Tags><d:Priority>High</d:Priority><d:Quantity>7</d:Quantity>
        <d:Line><d:Sku>A</d:Sku><d:Qty>2</d:Qty><d:Parts><d:Part><d:Sku>A1</d:Sku><d:Qty>4</d:Qty></d:Part></d:Parts></d:Line>
      </order><count>3</count></Book>`),
    );
    const typed = typedValue(book, args) as Record<string, any>;
    expect(typed.count).toBe(3);
    const o = typed.order;
    expect(o.Id).toBe(9007199254740991);
    expect(o.When).toEqual(new Date('2024-01-02T03:04:05Z'));
    expect(o.Price).toBe('19.990000000000000001'); // decimal: no silent rounding
    expect(o.Weight).toBe(-Infinity);
    expect(o.Rush).toBe(true);
    expect(o.Photo).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(o.Tags).toEqual({ string: ['red'] }); // repeatable: an array even for one
    expect(o.Priority).toBe('High');
    expect(o.Quantity).toBe(7); // a restriction of xs:int
    expect(o.Line).toEqual([{ Sku: 'A', Qty: 2, Parts: { Part: [{ Sku: 'A1', Qty: 4 }] } }]); // recursive type
  });

  it('leaves what the schema does not describe, and what does not parse, as it came', () => {
    const typed = typedValue(book, { count: 'many', extra: '5', order: { Id: '12345678901234567890', When: 'soon', Rush: 'maybe', Unknown: { x: '1' } } }) as Record<string, any>;
    expect(typed).toEqual({ count: 'many', extra: '5', order: { Id: '12345678901234567890', When: 'soon', Rush: 'maybe', Unknown: { x: '1' } } });
  });

  it('keeps nil as null, an empty complex element as {}, and a field named __proto__ as data', () => {
    const typed = typedValue(book, JSON.parse('{"order":"","count":null,"__proto__":{"polluted":"1"}}')) as Record<string, unknown>;
    expect(typed.order).toEqual({});
    expect(typed.count).toBeNull();
    expect(Object.getPrototypeOf(typed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(typed, '__proto__')?.value).toEqual({ polluted: '1' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('follows element refs and reads the calculator sample', () => {
    const ping = schema.elementType({ namespaceUri: 'urn:orders', localName: 'Ping' });
    expect(typedValue(ping, { Stamp: '2020-02-29T00:00:00Z' })).toEqual({ Stamp: new Date('2020-02-29T00:00:00Z') });
    const add = readXsdSchema([calculator]).elementType({ namespaceUri: 'http://example.org/calc', localName: 'Add' });
    expect(typedValue(add, { a: '2', b: '-3' })).toEqual({ a: 2, b: -3 });
    expect(schema.elementType({ namespaceUri: 'urn:orders', localName: 'Nope' })).toBeUndefined();
  });
});
