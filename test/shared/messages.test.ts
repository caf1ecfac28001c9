import fc from 'fast-check';
import { messageText, textItem, toItem, toMessage, toWireItem } from '../../shared/messages';
import type { Item, Message } from '../../shared/model';
import type { MessageItem, WeixinMessage } from '../../shared/wire';
import { parseJsonUint64Safe } from '../../shared/json';
import { ValidationError } from '../../shared/errors';

const BIG_ID = '7425432189012345678'; // > 2^53: a JS number would round it

const wireMedia = { encrypt_query_param: 'eqp', aes_key: 'a2V5', encrypt_type: 1, full_url: 'https://cdn/x' };
const modelMedia = { encryptQueryParam: 'eqp', aesKey: 'a2V5', encryptType: 1, fullUrl: 'https://cdn/x' };

describe('toMessage: envelope fields', () => {
  const wire: WeixinMessage = {
    seq: 42,
    message_id: BIG_ID,
    from_user_id: 'u@im.wechat',
    to_user_id: 'b@im.bot',
    client_id: 'cid-1',
    create_time_ms: 1714000000000,
    update_time_ms: 1714000000001,
    delete_time_ms: 1714000000002,
    session_id: 'sess',
    group_id: 'g1',
    message_type: 1,
    message_state: 2,
    context_token: 'ctx',
    item_list: [{ type: 1, text_item: { text: 'hi' } }],
  };

  test('maps every field', () => {
    expect(toMessage(wire)).toEqual({
      seq: 42,
      messageId: BIG_ID,
      from: 'u@im.wechat',
      to: 'b@im.bot',
      clientId: 'cid-1',
      createTime: 1714000000000,
      updateTime: 1714000000001,
      deleteTime: 1714000000002,
      sessionId: 'sess',
      groupId: 'g1',
      kind: 'user',
      state: 2,
      contextToken: 'ctx',
      items: [{ type: 'text', wireType: 1, text: 'hi' }],
      text: 'hi',
    });
  });

  test('uint64 message_id survives from raw JSON text exactly', () => {
    const parsed = parseJsonUint64Safe<WeixinMessage>(`{"message_id":${BIG_ID},"item_list":[{"type":1,"msg_id":${BIG_ID}}]}`);
    const message = toMessage(parsed);
    expect(message.messageId).toBe(BIG_ID);
    expect(message.items[0].msgId).toBe(BIG_ID);
  });

  test('a numeric message_id (plain JSON.parse) becomes its decimal string', () => {
    expect(toMessage({ message_id: 12345 as unknown as string }).messageId).toBe('12345');
  });

  test('absent ids and users become empty strings; absent optional fields are left out', () => {
    const message = toMessage({});
    expect(message).toEqual({ messageId: '', from: '', to: '', kind: 'none', items: [], text: '' });
    expect(Object.keys(message).sort()).toEqual(['from', 'items', 'kind', 'messageId', 'text', 'to']);
  });

  test.each([
    [1, 'user'],
    [2, 'bot'],
    [0, 'none'],
    [7, 'unknown'],
    [-1, 'unknown'],
  ])('message_type %p is kind %p', (messageType, kind) => {
    expect(toMessage({ message_type: messageType }).kind).toBe(kind);
  });

  test('a mistyped message_type is unknown', () => {
    expect(toMessage({ message_type: 'bot' as unknown as number }).kind).toBe('unknown');
  });
});

describe('toItem: every payload', () => {
  test('text item with all common fields', () => {
    expect(
      toItem({ type: 1, msg_id: BIG_ID, create_time_ms: 1, update_time_ms: 2, is_completed: true, text_item: { text: '你好' } }),
    ).toEqual({ type: 'text', wireType: 1, msgId: BIG_ID, createTime: 1, updateTime: 2, isCompleted: true, text: '你好' });
  });

  test('image item: media camelCase, aeskey -> aesKeyHex, sizes', () => {
    expect(
      toItem({
        type: 2,
        image_item: {
          media: wireMedia,
          thumb_media: { encrypt_query_param: 't' },
          aeskey: '00112233445566778899aabbccddeeff',
          url: 'u',
          mid_size: 100,
          thumb_size: 10,
          thumb_height: 20,
          thumb_width: 30,
          hd_size: 400,
        },
      }),
    ).toEqual({
      type: 'image',
      wireType: 2,
      image: {
        media: modelMedia,
        thumbMedia: { encryptQueryParam: 't' },
        aesKeyHex: '00112233445566778899aabbccddeeff',
        url: 'u',
        midSize: 100,
        thumbSize: 10,
        thumbHeight: 20,
        thumbWidth: 30,
        hdSize: 400,
      },
    });
  });

  test('voice item: playtime -> playtimeMs, text -> transcript', () => {
    expect(
      toItem({
        type: 3,
        voice_item: { media: wireMedia, encode_type: 6, bits_per_sample: 16, sample_rate: 16000, playtime: 3200, text: '语音转文字' },
      }),
    ).toEqual({
      type: 'voice',
      wireType: 3,
      voice: { media: modelMedia, encodeType: 6, bitsPerSample: 16, sampleRate: 16000, playtimeMs: 3200, transcript: '语音转文字' },
    });
  });

  test('file item: len decimal string -> size number', () => {
    expect(toItem({ type: 4, file_item: { media: wireMedia, file_name: 'a.pdf', md5: 'abc', len: '123456' } })).toEqual({
      type: 'file',
      wireType: 4,
      file: { media: modelMedia, fileName: 'a.pdf', md5: 'abc', size: 123456 },
    });
  });

  test('file item: a non-numeric len is dropped, not NaN', () => {
    expect(toItem({ type: 4, file_item: { len: 'lots' } }).file).toEqual({});
  });

  test('video item: every field', () => {
    expect(
      toItem({
        type: 5,
        video_item: {
          media: wireMedia,
          video_size: 9000,
          play_length: 12,
          video_md5: 'md5',
          thumb_media: { aes_key: 'k' },
          thumb_size: 1,
          thumb_height: 2,
          thumb_width: 3,
        },
      }),
    ).toEqual({
      type: 'video',
      wireType: 5,
      video: {
        media: modelMedia,
        videoSize: 9000,
        playLengthMs: 12,
        videoMd5: 'md5',
        thumbMedia: { aesKey: 'k' },
        thumbSize: 1,
        thumbHeight: 2,
        thumbWidth: 3,
      },
    });
  });

  test('tool call start (11) and result (12) parse', () => {
    expect(toItem({ type: 11, tool_call_start_item: { tool_name: 'search', tool_call_id: 't1' } })).toEqual({
      type: 'toolCallStart',
      wireType: 11,
      toolCall: { toolName: 'search', toolCallId: 't1' },
    });
    expect(toItem({ type: 12, tool_call_result_item: { tool_name: 'search', tool_call_id: 't1', status: 'failed' } })).toEqual({
      type: 'toolCallResult',
      wireType: 12,
      toolCall: { toolName: 'search', toolCallId: 't1', status: 'failed' },
    });
  });

  test('unknown item types keep their wire type', () => {
    expect(toItem({ type: 99 })).toEqual({ type: 'unknown', wireType: 99 });
    expect(toItem({ type: 0 })).toEqual({ type: 'unknown', wireType: 0 });
  });

  test('an item without a type is unknown with wire type 0', () => {
    expect(toItem({ text_item: { text: 'x' } })).toEqual({ type: 'unknown', wireType: 0, text: 'x' });
  });
});

describe('quotes (ref_msg)', () => {
  test('quote with a quoted text item, title and svr_id', () => {
    const message = toMessage({
      item_list: [
        {
          type: 1,
          text_item: { text: 'reply' },
          ref_msg: { title: '摘要', svr_id: BIG_ID, message_item: { type: 1, text_item: { text: 'original' } } },
        },
      ],
    });
    expect(message.quote).toEqual({
      title: '摘要',
      item: { type: 'text', wireType: 1, text: 'original' },
      text: 'original',
      messageId: BIG_ID,
    });
    expect(message.items[0].quote).toEqual(message.quote);
    expect(message.text).toBe('reply');
  });

  test('ID-only quote (svr_id, partial_text) from newer clients', () => {
    const message = toMessage({
      item_list: [{ type: 1, text_item: { text: 'yes' }, ref_msg: { svr_id: BIG_ID, partial_text: { start: 0, end: 3 } } }],
    });
    expect(message.quote).toEqual({ messageId: BIG_ID });
  });

  test('quoted voice item: its transcript is the quote text', () => {
    const message = toMessage({
      item_list: [{ type: 1, text_item: { text: 'ok' }, ref_msg: { message_item: { type: 3, voice_item: { text: '转写' } } } }],
    });
    expect(message.quote?.text).toBe('转写');
    expect(message.quote?.item?.type).toBe('voice');
  });

  test('quoted media item: the item is kept, no text', () => {
    const message = toMessage({
      item_list: [{ type: 1, text_item: { text: 'nice' }, ref_msg: { title: '[图片]', message_item: { type: 2, image_item: { url: 'u' } } } }],
    });
    expect(message.quote).toEqual({ title: '[图片]', item: { type: 'image', wireType: 2, image: { url: 'u' } } });
  });

  test('the quote comes from the first TEXT item only', () => {
    const message = toMessage({
      item_list: [
        { type: 2, ref_msg: { title: 'image quote' } },
        { type: 1, text_item: { text: 'a' } },
        { type: 1, text_item: { text: 'b' }, ref_msg: { title: 'second text quote' } },
      ],
    });
    expect(message.quote).toBeUndefined();
  });

  test('an empty ref_msg gives no quote', () => {
    expect(toMessage({ item_list: [{ type: 1, text_item: { text: 'a' }, ref_msg: {} }] }).quote).toBeUndefined();
  });

  test('a cyclic hand-built quote does not overflow the stack', () => {
    const item: MessageItem = { type: 1, text_item: { text: 'loop' } };
    item.ref_msg = { message_item: item };
    const converted = toItem(item);
    let depth = 0;
    for (let q = converted.quote; q; q = q.item?.quote) depth++;
    expect(depth).toBeGreaterThan(0);
    expect(depth).toBeLessThan(20);
  });
});

describe('body text (§4)', () => {
  const text = (items: MessageItem[]): string => toMessage({ item_list: items }).text;

  test('first TEXT item wins', () => {
    expect(text([{ type: 2 }, { type: 1, text_item: { text: 'first' } }, { type: 1, text_item: { text: 'second' } }])).toBe('first');
  });

  test('voice transcript is the text when there is no TEXT item', () => {
    expect(text([{ type: 3, voice_item: { text: '' } }, { type: 3, voice_item: { text: '你好呀' } }])).toBe('你好呀');
  });

  test('text wins over a voice transcript', () => {
    expect(text([{ type: 3, voice_item: { text: 'spoken' } }, { type: 1, text_item: { text: 'typed' } }])).toBe('typed');
  });

  test.each([
    [2, { image_item: {} }, '[图片]'],
    [3, { voice_item: {} }, '[语音]'],
    [4, { file_item: {} }, '[文件]'],
    [5, { video_item: {} }, '[视频]'],
  ])('media-only type %p is labelled', (type, payload, label) => {
    expect(text([{ type, ...payload } as MessageItem])).toBe(label);
  });

  test('a file label carries the file name', () => {
    expect(text([{ type: 4, file_item: { file_name: '报告.pdf' } }])).toBe('[文件] 报告.pdf');
  });

  test('the first media item decides the label', () => {
    expect(text([{ type: 5 }, { type: 2 }])).toBe('[视频]');
  });

  test('an empty first TEXT item falls through to the media label', () => {
    expect(text([{ type: 1, text_item: { text: '' } }, { type: 2 }])).toBe('[图片]');
  });

  test('tool calls and unknown items give empty text', () => {
    expect(text([{ type: 11, tool_call_start_item: { tool_name: 'x' } }, { type: 42 }])).toBe('');
    expect(text([])).toBe('');
  });

  test('messageText applies the same rule to a hand-built message', () => {
    const message: Message = {
      messageId: '',
      from: '',
      to: '',
      kind: 'user',
      text: '',
      items: [{ type: 'voice', wireType: 3, voice: { transcript: '手写' } }],
    };
    expect(messageText(message)).toBe('手写');
    expect(messageText({ ...message, items: [{ type: 'file', wireType: 4, file: { fileName: 'a.txt' } }] })).toBe('[文件] a.txt');
    expect(messageText({ ...message, items: [{ type: 'text', wireType: 1, text: 'typed' }] })).toBe('typed');
  });

  test('messageText tolerates a message without items', () => {
    expect(messageText({} as Message)).toBe('');
    expect(messageText(null as unknown as Message)).toBe('');
  });
});

describe('garbage input never throws', () => {
  test.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'hello'],
    ['a number', 5],
    ['an array', []],
    ['item_list is not an array', { item_list: 'nope' }],
    ['item_list with nulls and strings', { item_list: [null, 'x', 3, [], { type: 1, text_item: null }] }],
    ['wrong field types', { message_id: {}, from_user_id: 7, seq: 'abc', create_time_ms: NaN, context_token: false }],
    ['payloads of wrong types', { item_list: [{ type: '2', image_item: 'img', voice_item: [1], file_item: 5, ref_msg: 'q' }] }],
    ['nested nulls', { item_list: [{ type: 1, text_item: { text: null }, ref_msg: { message_item: null, title: null } }] }],
  ])('%s', (_name, input) => {
    const message = toMessage(input as unknown as WeixinMessage);
    expect(typeof message.text).toBe('string');
    expect(typeof message.messageId).toBe('string');
    expect(Array.isArray(message.items)).toBe(true);
  });

  test('wrong field types are skipped, good ones kept', () => {
    const message = toMessage({ message_id: {}, from_user_id: 7, seq: 'abc', context_token: false, to_user_id: 'b@im.bot' } as unknown as WeixinMessage);
    expect(message).toEqual({ messageId: '', from: '', to: 'b@im.bot', kind: 'none', items: [], text: '' });
  });

  test('non-object item_list entries are dropped', () => {
    const message = toMessage({ item_list: [null, 'x', { type: 1, text_item: { text: 'kept' } }] } as unknown as WeixinMessage);
    expect(message.items).toEqual([{ type: 'text', wireType: 1, text: 'kept' }]);
    expect(message.text).toBe('kept');
  });

  test('a numeric-string type is read as its number', () => {
    expect(toItem({ type: '2' } as unknown as MessageItem).type).toBe('image');
  });

  test('toItem on a non-object gives an unknown item', () => {
    expect(toItem(null as unknown as MessageItem)).toEqual({ type: 'unknown', wireType: 0 });
  });

  test('random JSON never makes toMessage throw (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 5 }), (envelope, items) => {
        toMessage(envelope as WeixinMessage);
        const base = typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope) ? envelope : {};
        const message = toMessage({ ...base, item_list: items } as WeixinMessage);
        expect(typeof message.text).toBe('string');
      }),
      { seed: 314159, numRuns: 1000 },
    );
  });

  test('random item-shaped objects never make toMessage throw (property)', () => {
    const anyValue = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.boolean(), fc.jsonValue());
    const itemArb = fc.record(
      {
        type: fc.oneof(fc.integer({ min: -1, max: 13 }), anyValue),
        text_item: fc.oneof(fc.record({ text: anyValue }), anyValue),
        voice_item: fc.oneof(fc.record({ text: anyValue, playtime: anyValue }), anyValue),
        file_item: fc.oneof(fc.record({ file_name: anyValue, len: anyValue }), anyValue),
        ref_msg: fc.oneof(fc.record({ title: anyValue, svr_id: anyValue, message_item: anyValue }), anyValue),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 4 }), (items) => {
        const message = toMessage({ item_list: items } as unknown as WeixinMessage);
        expect(typeof message.text).toBe('string');
      }),
      { seed: 2718, numRuns: 1000 },
    );
  });
});

describe('toWireItem (inverse of toItem)', () => {
  const fullItems: MessageItem[] = [
    { type: 1, msg_id: BIG_ID, create_time_ms: 1, update_time_ms: 2, is_completed: false, text_item: { text: 't' } },
    {
      type: 2,
      image_item: { media: wireMedia, thumb_media: wireMedia, aeskey: 'ff'.repeat(16), url: 'u', mid_size: 1, thumb_size: 2, thumb_height: 3, thumb_width: 4, hd_size: 5 },
    },
    { type: 3, voice_item: { media: wireMedia, encode_type: 6, bits_per_sample: 16, sample_rate: 24000, playtime: 900, text: 'tr' } },
    { type: 4, file_item: { media: wireMedia, file_name: 'f.bin', md5: 'm', len: '0' } },
    {
      type: 5,
      video_item: { media: wireMedia, video_size: 1, play_length: 2, video_md5: 'v', thumb_media: wireMedia, thumb_size: 3, thumb_height: 4, thumb_width: 5 },
    },
    { type: 11, tool_call_start_item: { tool_name: 'n', tool_call_id: 'i' } },
    { type: 12, tool_call_result_item: { tool_name: 'n', tool_call_id: 'i', status: 'completed' } },
    { type: 77 },
    { type: 1, text_item: { text: 'r' }, ref_msg: { title: 'T', svr_id: BIG_ID, message_item: { type: 2, image_item: { url: 'q' } } } },
  ];

  test.each(fullItems.map((item) => [item.type, item] as const))('round trip of wire type %p is exact', (_type, item) => {
    expect(toWireItem(toItem(item))).toEqual(item);
  });

  test('FileInfo.size becomes the decimal string len', () => {
    expect(toWireItem({ type: 'file', wireType: 4, file: { size: 1048576 } })).toEqual({ type: 4, file_item: { len: '1048576' } });
  });

  test('image aesKeyHex becomes aeskey and CdnMedia becomes snake_case', () => {
    expect(toWireItem({ type: 'image', wireType: 2, image: { aesKeyHex: 'ab', media: modelMedia } })).toEqual({
      type: 2,
      image_item: { aeskey: 'ab', media: wireMedia },
    });
  });

  test('the kind decides the wire type, not a stale wireType', () => {
    expect(toWireItem({ type: 'video', wireType: 2 }).type).toBe(5);
  });

  test('a quote goes out as ref_msg; its derived text is not sent', () => {
    expect(toWireItem({ type: 'text', wireType: 1, text: 'a', quote: { text: 'derived', messageId: '9' } })).toEqual({
      type: 1,
      text_item: { text: 'a' },
      ref_msg: { svr_id: '9' },
    });
  });

  test('a hand-built item without wireType still converts', () => {
    expect(toWireItem({ type: 'text', text: 'x' } as Item)).toEqual({ type: 1, text_item: { text: 'x' } });
  });

  test('rejects an unknown type name, an unknown item without wireType, and non-objects', () => {
    expect(() => toWireItem({ type: 'imgae', wireType: 2 } as unknown as Item)).toThrow(ValidationError);
    expect(() => toWireItem({ type: 'imgae', wireType: 2 } as unknown as Item)).toThrow(/unknown item type "imgae"/);
    expect(() => toWireItem({ type: 'unknown' } as Item)).toThrow(/wireType/);
    expect(() => toWireItem(null as unknown as Item)).toThrow(ValidationError);
  });

  test('a negative or fractional size is left out', () => {
    expect(toWireItem({ type: 'file', wireType: 4, file: { size: -1 } })).toEqual({ type: 4, file_item: {} });
    expect(toWireItem({ type: 'file', wireType: 4, file: { size: 1.5 } })).toEqual({ type: 4, file_item: {} });
  });
});

describe('textItem', () => {
  test('builds a TEXT wire item', () => {
    expect(textItem('你好')).toEqual({ type: 1, text_item: { text: '你好' } });
  });
});
