import { ValidationError } from '../../shared/errors';
import { toMessage } from '../../shared/messages';
import { createMessageFilter, MAX_TEXT_MATCH_CHARS } from '../../shared/filter';

const msg = (from: string, items: object[], messageType = 1) =>
  toMessage({ message_id: '1', from_user_id: from, message_type: messageType, item_list: items as any });
const text = (t: string) => ({ type: 1, text_item: { text: t } });
const image = { type: 2, image_item: { media: { encrypt_query_param: 'q' } } };

test('by default everyone passes, bot echoes do not', () => {
  const pass = createMessageFilter();
  expect(pass(msg('a', [text('x')]))).toBe(true);
  expect(pass(msg('a', [text('x')], 2))).toBe(false);
  expect(createMessageFilter({ ignoreBotEchoes: false })(msg('a', [text('x')], 2))).toBe(true);
});

test('item kinds', () => {
  const onlyImages = createMessageFilter({ kinds: ['image'] });
  expect(onlyImages(msg('a', [image]))).toBe(true);
  expect(onlyImages(msg('a', [text('x')]))).toBe(false);
});

test('owner only and allow-list', () => {
  expect(createMessageFilter({ senders: 'owner', ownerUserId: 'o' })(msg('o', [text('x')]))).toBe(true);
  expect(createMessageFilter({ senders: 'owner', ownerUserId: 'o' })(msg('p', [text('x')]))).toBe(false);
  const list = createMessageFilter({ senders: 'list', allowList: [' a ', 'b'] });
  expect([list(msg('a', [text('x')])), list(msg('b', [text('x')])), list(msg('c', [text('x')]))]).toEqual([true, true, false]);
  expect(() => createMessageFilter({ senders: 'owner' })).toThrow(ValidationError);
  expect(() => createMessageFilter({ senders: 'list', allowList: [' '] })).toThrow(/allow-list is empty/);
});

test('text match: contains (case-insensitive by default) and regex', () => {
  const contains = createMessageFilter({ textMatch: { mode: 'contains', pattern: 'PING' } });
  expect(contains(msg('a', [text('say ping')]))).toBe(true);
  expect(contains(msg('a', [text('pong')]))).toBe(false);
  expect(createMessageFilter({ textMatch: { mode: 'contains', pattern: 'PING', caseSensitive: true } })(msg('a', [text('ping')]))).toBe(false);
  const regex = createMessageFilter({ textMatch: { mode: 'regex', pattern: '^订单\\d+$' } });
  expect(regex(msg('a', [text('订单42')]))).toBe(true);
  expect(regex(msg('a', [text('订单x')]))).toBe(false);
  expect(() => createMessageFilter({ textMatch: { mode: 'regex', pattern: '(' } })).toThrow(/not a valid regular expression/);
});

test.each(['(a+)+$', '^(\\w*)*x', '(a|aa)+', '(x{1,5})*y', '([a-z]+\\s?)+$'])('a pattern that repeats a repeating group (%s) is refused at configuration, saying how to write it', (pattern) => {
  expect(() => createMessageFilter({ textMatch: { mode: 'regex', pattern } })).toThrow(/repeats a group that itself repeats .* write it without the outer repetition/);
});

test('patterns without nested repetition are kept, and a regex is tested on at most MAX_TEXT_MATCH_CHARS characters', () => {
  for (const pattern of ['^订单\\d+$', '(ab)+', '(a)(b+)', 'x{2,}', '\\(a+\\)+']) expect(() => createMessageFilter({ textMatch: { mode: 'regex', pattern } })).not.toThrow();
  const tail = createMessageFilter({ textMatch: { mode: 'regex', pattern: 'END$' } });
  expect(tail(msg('a', [text(`${'x'.repeat(100)}END`)]))).toBe(true);
  // Past the bound the text is not looked at: the cost stays bounded whatever a user sends.
  expect(tail(msg('a', [text(`${'x'.repeat(MAX_TEXT_MATCH_CHARS)}END`)]))).toBe(false);
});
