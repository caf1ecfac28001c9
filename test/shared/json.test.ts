import fc from 'fast-check';
import { parseJsonUint64Safe, stringifyWithUint64Numbers } from '../../shared/json';

describe('uint64-safe JSON (§2)', () => {
  test('quotes message_id, msg_id and svr_id integers, at any depth', () => {
    const parsed = parseJsonUint64Safe<any>(
      '{"message_id": 18446744073709551615, "a":{"msg_id":-9007199254740993,"svr_id" :12}, "seq": 9007199254740993}',
    );
    expect(parsed.message_id).toBe('18446744073709551615');
    expect(parsed.a.msg_id).toBe('-9007199254740993');
    expect(parsed.a.svr_id).toBe('12');
    expect(typeof parsed.seq).toBe('number'); // other keys are left alone
  });
  test('leaves look-alike text inside strings untouched', () => {
    const text = JSON.stringify({ text: '"message_id": 123', message_id: 'already' });
    expect(parseJsonUint64Safe<any>(text)).toEqual({ text: '"message_id": 123', message_id: 'already' });
  });
  test('keeps string IDs and non-integer numbers as they are', () => {
    expect(parseJsonUint64Safe<any>('{"msg_id":"77","message_id":1.5}')).toEqual({ msg_id: '77', message_id: 1.5 });
  });
  test('stringify writes the named keys back as bare numbers', () => {
    expect(stringifyWithUint64Numbers({ msg_id: '18446744073709551615', text: '"msg_id":"1"' }, ['msg_id'])).toBe(
      '{"msg_id":18446744073709551615,"text":"\\"msg_id\\":\\"1\\""}',
    );
  });
  test('round trip: any uint64 survives stringify → parse exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (n) => {
        const text = stringifyWithUint64Numbers({ message_id: n.toString() });
        expect(parseJsonUint64Safe<any>(text).message_id).toBe(n.toString());
      }),
    );
  });
  test('never changes the meaning of JSON without the keys', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(parseJsonUint64Safe(text, [])).toEqual(JSON.parse(text));
      }),
    );
  });
});
