/** getupdates: long poll, opaque cursor, no replay by default (§10), replay on request, uint64 IDs (§2, §5). */
import { callApi, useSimulator } from './helpers';

const texts = (result: { json?: Record<string, any> }): string[] => (result.json?.msgs ?? []).map((m: any) => m.item_list[0].text_item.text);

describe('getupdates', () => {
  const sim = useSimulator({ longPollTimeoutMs: 400 });

  test('holds for longPollTimeoutMs and answers an empty batch with the announced timeout', async () => {
    const bot = sim().admin.createBot();
    const started = Date.now();
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(result.json).toMatchObject({ ret: 0, msgs: [], longpolling_timeout_ms: 400 });
    expect(typeof result.json?.get_updates_buf).toBe('string');
  });

  test('wakes as soon as a message is injected', async () => {
    const bot = sim().admin.createBot();
    const started = Date.now();
    const poll = callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const injected = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: '你好' });
    const result = await poll;
    expect(Date.now() - started).toBeLessThan(300);
    expect(result.json?.msgs).toHaveLength(1);
    const [msg] = result.json?.msgs;
    expect(msg).toMatchObject({
      message_id: injected.messageId,
      from_user_id: 'alice@im.wechat',
      to_user_id: bot.botId,
      message_type: 1,
      message_state: 2,
      context_token: injected.contextToken,
      seq: 1,
    });
    expect(msg.item_list[0]).toMatchObject({ type: 1, text_item: { text: '你好' } });
    expect(typeof msg.item_list[0].msg_id).toBe('string');
    expect(typeof msg.session_id).toBe('string');
    expect(typeof msg.create_time_ms).toBe('number');
  });

  test('message_id is a uint64 above 2^53 written as a bare JSON number', async () => {
    const bot = sim().admin.createBot();
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'x' });
    expect(BigInt(messageId)).toBeGreaterThan(2n ** 53n);
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(result.text).toContain(`"message_id":${messageId}`);
    expect(result.text).not.toContain(`"message_id":"`);
    // A naive JSON.parse loses the last digit: exactly what clients must avoid.
    expect(String((JSON.parse(result.text) as { msgs: Array<{ message_id: number }> }).msgs[0].message_id)).not.toBe(messageId);
    // Item msg_id stays a JSON string (§4).
    expect(result.text).toMatch(/"msg_id":"\d+"/);
  });

  test('cursor: opaque; no replay: an answer consumes what it delivered (§10 #164)', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'one' });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'two' });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const cursor = first.json?.get_updates_buf as string;
    expect(texts(first)).toEqual(['one', 'two']);
    expect(cursor).not.toMatch(/^\d+$/);
    expect(cursor.length).toBeGreaterThan(20);

    // A restart with the old cursor, an empty one or an unknown one brings nothing back, only newer messages.
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'three' });
    const fromEmpty = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(texts(fromEmpty)).toEqual(['three']);
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'four' });
    const fromOld = await callApi(sim(), 'getUpdates', { get_updates_buf: cursor }, { token: bot.token });
    expect(texts(fromOld)).toEqual(['four']);
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'five' });
    const fromUnknown = await callApi(sim(), 'getUpdates', { get_updates_buf: 'bm90IGEgY3Vyc29yIHdlIG1hZGU=' }, { token: bot.token });
    expect(texts(fromUnknown)).toEqual(['five']);
  });

  test('no replay: an old or empty cursor after delivery waits out the poll and answers nothing', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'one' });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(texts(first)).toEqual(['one']);
    const [again, old] = await Promise.all([
      callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token }),
      callApi(sim(), 'getUpdates', { get_updates_buf: first.json?.get_updates_buf }, { token: bot.token }),
    ]);
    expect(again.json).toMatchObject({ ret: 0, msgs: [] });
    expect(old.json).toMatchObject({ ret: 0, msgs: [] });
    // Nothing new for a known cursor: the same cursor comes back.
    expect(old.json?.get_updates_buf).toBe(first.json?.get_updates_buf);
  });

  test('no replay: two held polls share a message, it goes to one of them only', async () => {
    const bot = sim().admin.createBot();
    const polls = [0, 1].map(() => callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'once' });
    const answers = await Promise.all(polls);
    expect(answers.flatMap((answer) => answer.json?.msgs.map((m: any) => m.message_id))).toEqual([messageId]);
  });

  test('a held poll answers a little before the announced timeout; a wake after that takes nothing', async () => {
    const bot = sim().admin.createBot();
    const started = Date.now();
    const poll = callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // A blocked event loop: the hold's time is up when the message arrives.
    while (Date.now() - started < 420) {
      // busy wait
    }
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'late' });
    const answer = await poll;
    expect(answer.json).toMatchObject({ ret: 0, msgs: [], longpolling_timeout_ms: 400 });
    // Not lost: the next poll gets it.
    const next = await callApi(sim(), 'getUpdates', { get_updates_buf: answer.json?.get_updates_buf }, { token: bot.token });
    expect(next.json?.msgs.map((m: any) => m.message_id)).toEqual([messageId]);
  });

  test('no replay: an answer the client abandons before it is completely written gives its messages back', async () => {
    const bot = sim().admin.createBot();
    const { messageId } = sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'in flight' });
    sim().admin.injectFault({ endpoint: 'getUpdates', kind: 'slowBody', delayMs: 100 });
    const controller = new AbortController();
    const abandoned = callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token, signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    await expect(abandoned).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const next = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(next.json?.msgs.map((m: any) => m.message_id)).toEqual([messageId]);
  });

  test('queues are per bot', async () => {
    const a = sim().admin.createBot();
    const b = sim().admin.createBot();
    sim().admin.injectMessage({ botId: a.botId, from: 'alice@im.wechat', text: 'for a' });
    const forB = callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: b.token });
    const forA = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: a.token });
    expect(forA.json?.msgs).toHaveLength(1);
    expect((await forB).json?.msgs).toEqual([]);
  });

  test('inject options: items, refMsg, contextToken, messageType', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectMessage({
      botId: bot.botId,
      from: 'alice@im.wechat',
      text: 'see this',
      items: [{ type: 2, image_item: { media: { encrypt_query_param: 'abc', aes_key: 'key' } } }],
      refMsg: { title: 'quoted', message_item: { type: 1, text_item: { text: 'earlier' } } },
      contextToken: 'my-token',
      messageType: 2,
    });
    const result = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const [msg] = result.json?.msgs;
    expect(msg.message_type).toBe(2);
    expect(msg.context_token).toBe('my-token');
    expect(msg.item_list).toHaveLength(2);
    expect(msg.item_list[0].ref_msg).toEqual({ title: 'quoted', message_item: { type: 1, text_item: { text: 'earlier' } } });
    expect(msg.item_list[1]).toMatchObject({ type: 2, image_item: { media: { encrypt_query_param: 'abc' } } });
  });

  test('a held poll answers -14 when the session is expired meanwhile', async () => {
    const bot = sim().admin.createBot();
    const poll = callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    await new Promise((resolve) => setTimeout(resolve, 50));
    sim().admin.expireSession(bot.botId);
    expect((await poll).json).toEqual({ errcode: -14, errmsg: 'session timeout' });
  });

  test('base path: the API lives under the prefix only', async () => {
    const { startSimulator } = await import('../../simulator');
    const prefixed = await startSimulator({ basePath: '/prefix/', longPollTimeoutMs: 200 });
    try {
      expect(prefixed.apiBaseUrl).toBe(`${prefixed.url}/prefix/`);
      expect(prefixed.cdnBaseUrl).toBe(`${prefixed.url}/prefix/c2c`);
      const bot = prefixed.admin.createBot();
      expect(bot.baseUrl).toBe(`${prefixed.url}/prefix`);
      prefixed.admin.injectMessage({ botId: bot.botId, from: 'a@im.wechat', text: 'x' });
      const ok = await callApi(prefixed, 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
      expect(ok.json?.msgs).toHaveLength(1);
      const root = await callApi(prefixed, 'getUpdates', { get_updates_buf: '' }, { token: bot.token, baseUrl: `${prefixed.url}/` });
      expect(root.status).toBe(404);
      expect(prefixed.admin.requests({ endpoint: 'getUpdates' })[0].path).toBe('/prefix/ilink/bot/getupdates');
    } finally {
      await prefixed.stop();
    }
  });
});

// replay: true keeps the simulator's earlier at-least-once cursor (not what the real server does, §10 #164).
describe('getupdates with replay: true', () => {
  const sim = useSimulator({ longPollTimeoutMs: 400, replay: true });

  test('cursor advances only when sent back; an old or empty cursor re-delivers', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'one' });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'two' });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    const cursor = first.json?.get_updates_buf as string;
    expect(first.json?.msgs.map((m: any) => m.item_list[0].text_item.text)).toEqual(['one', 'two']);
    expect(cursor).not.toMatch(/^\d+$/);
    expect(cursor.length).toBeGreaterThan(20);

    const again = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(again.json?.msgs).toHaveLength(2);

    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'three' });
    const next = await callApi(sim(), 'getUpdates', { get_updates_buf: cursor }, { token: bot.token });
    expect(next.json?.msgs.map((m: any) => m.item_list[0].text_item.text)).toEqual(['three']);
    const repeat = await callApi(sim(), 'getUpdates', { get_updates_buf: cursor }, { token: bot.token });
    expect(repeat.json?.msgs.map((m: any) => m.item_list[0].text_item.text)).toEqual(['three']);

    const acked = await callApi(sim(), 'getUpdates', { get_updates_buf: next.json?.get_updates_buf }, { token: bot.token });
    expect(acked.json?.msgs).toEqual([]);
    // Nothing new: the same cursor comes back.
    expect(acked.json?.get_updates_buf).toBe(next.json?.get_updates_buf);
  });

  test('sending a cursor back acknowledges what came before it: "" then starts after it', async () => {
    const bot = sim().admin.createBot();
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'one' });
    const first = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    sim().admin.injectMessage({ botId: bot.botId, from: 'alice@im.wechat', text: 'two' });
    await callApi(sim(), 'getUpdates', { get_updates_buf: first.json?.get_updates_buf }, { token: bot.token });
    const restart = await callApi(sim(), 'getUpdates', { get_updates_buf: '' }, { token: bot.token });
    expect(restart.json?.msgs.map((m: any) => m.item_list[0].text_item.text)).toEqual(['two']);
  });
});
