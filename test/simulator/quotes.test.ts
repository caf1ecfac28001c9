/** injectMessage's `quote`: ID-only quotes as current WeChat clients send them (§10, #222), or the full form. */
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { callApi, http, textMessage, useSimulator } from './helpers';

async function postRaw(url: string, body: string): Promise<{ status: number; text: string }> {
  const response = await request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: response.statusCode, text: await response.body.text() };
}

async function poll(sim: ReturnType<ReturnType<typeof useSimulator>>, token: string): Promise<any[]> {
  const result = await callApi(sim, 'getUpdates', { get_updates_buf: '' }, { token });
  return result.json?.msgs ?? [];
}

describe('quotes (idOnlyQuotes: true, the default)', () => {
  const sim = useSimulator({ longPollTimeoutMs: 300 });

  test('an ID-only quote of an inbound message: svr_id, partial_text, an empty message_item', async () => {
    const bot = sim().admin.createBot();
    const quoted = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: '明天见 ok' });
    const quoting = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: '改到后天', quote: { messageId: quoted.messageId } });
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const msgs = result.json?.msgs;
    expect(msgs.map((m: any) => m.message_id)).toEqual([quoted.messageId, quoting.messageId]);
    const item = msgs[1].item_list[0];
    expect(item.text_item).toEqual({ text: '改到后天' });
    expect(item.ref_msg).toEqual({
      svr_id: quoted.messageId,
      partial_text: { start: '0', end: '6', startindex: 0, endindex: 6, quotemd5: createHash('md5').update('明天见 ok', 'utf8').digest('hex') },
      message_item: { type: 0 },
    });
    // svr_id is a uint64 written as a bare JSON number, like message_id.
    expect(result.text).toContain(`"svr_id":${quoted.messageId}`);
    expect(BigInt(quoted.messageId)).toBeGreaterThan(2n ** 53n);
  });

  test('a quote of the bot\'s own sent message; media without text has no partial_text', async () => {
    const bot = sim().admin.createBot();
    const { contextToken } = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'hi' });
    const sent = await callApi(sim(), 'sendMessage', textMessage('bob@im.wechat', contextToken, 'bot says'), { token: bot.token });
    const sentId = sim().admin.sentMessages()[0].messageId;
    expect(sent.json?.ret).toBe(0);
    const image = sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', items: [{ type: 2, image_item: { media: { encrypt_query_param: 'q' } } }] });
    sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'this?', quote: { messageId: sentId } });
    sim().admin.injectMessage({ botId: bot.botId, from: 'bob@im.wechat', text: 'and this', quote: { messageId: image.messageId } });
    const msgs = await poll(sim(), bot.token);
    expect(msgs[2].item_list[0].ref_msg).toMatchObject({ svr_id: sentId, message_item: { type: 0 }, partial_text: { endindex: 8 } });
    expect(msgs[3].item_list[0].ref_msg).toEqual({ svr_id: image.messageId, message_item: { type: 0 } });
  });

  test('unknown quote ID, another bot\'s message, a malformed ID, or quote with refMsg are refused', () => {
    const bot = sim().admin.createBot();
    const other = sim().admin.createBot();
    const elsewhere = sim().admin.injectMessage({ botId: other.botId, from: 'alice@im.wechat', text: 'x' });
    expect(() => sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'q', quote: { messageId: '18446744073709551615' } })).toThrow(
      /has no inbound or sent message 18446744073709551615/,
    );
    expect(() => sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'q', quote: { messageId: elsewhere.messageId } })).toThrow(/no inbound or sent message/);
    expect(() => sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'q', quote: { messageId: 12 as unknown as string } })).toThrow(/decimal string/);
    expect(() =>
      sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'q', quote: { messageId: elsewhere.messageId }, refMsg: { title: 't' } }),
    ).toThrow(/not both/);
    // Nothing was queued by the refusals.
    expect(sim().admin.timeline(bot.botId)).toEqual([]);
  });

  test('over HTTP: POST /_admin/messages with quote; an unknown ID answers 400', async () => {
    const bot = sim().admin.createBot();
    const quoted = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'first' });
    const ok = await http(`${sim().url}/_admin/messages`, { json: { botId: bot.botId, from: 'alice@im.wechat', text: 'reply', quote: { messageId: quoted.messageId } } });
    expect(ok.status).toBe(200);
    const unknown = await http(`${sim().url}/_admin/messages`, { json: { botId: bot.botId, from: 'alice@im.wechat', text: 'reply', quote: { messageId: '42' } } });
    expect(unknown.status).toBe(400);
    expect(unknown.json?.error).toMatch(/no inbound or sent message 42/);
    // A bare-number messageId (above 2^53) is read exactly, not rounded to a neighbour.
    const bare = await postRaw(`${sim().url}/_admin/messages`, `{"botId":"${bot.botId}","from":"alice@im.wechat","text":"again","quote":{"messageId":${quoted.messageId}}}`);
    expect(bare.status).toBe(200);
    const msgs = await poll(sim(), bot.token);
    expect(msgs.map((m) => m.item_list[0].ref_msg?.svr_id)).toEqual([undefined, quoted.messageId, quoted.messageId]);
  });
});

describe('quotes (idOnlyQuotes: false)', () => {
  const sim = useSimulator({ longPollTimeoutMs: 300, idOnlyQuotes: false });

  test('the full form: a copy of the quoted first item and a short title', async () => {
    const bot = sim().admin.createBot();
    const long = '这是一条很长的消息，'.repeat(5);
    const quoted = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: long });
    const file = sim().admin.injectMessage({
      botId: bot.botId,
      from: 'alice@im.wechat',
      items: [{ type: 4, file_item: { file_name: 'report.pdf', len: '12', media: { encrypt_query_param: 'f' } } }],
    });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'see', quote: { messageId: quoted.messageId } });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'and', quote: { messageId: file.messageId } });
    const msgs = await poll(sim(), bot.token);
    const textRef = msgs[2].item_list[0].ref_msg;
    expect(textRef).toEqual({ title: `${[...long].slice(0, 30).join('')}…`, message_item: msgs[0].item_list[0] });
    expect(textRef).not.toHaveProperty('svr_id');
    expect(msgs[3].item_list[0].ref_msg).toEqual({ title: '[文件] report.pdf', message_item: msgs[1].item_list[0] });
  });
});
